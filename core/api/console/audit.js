// The audit log: the provider calls made for this tenant, masked as the
// API masks them (GET /v1/audit), filtered by provider, operation and
// outcome, a page at a time.
import { api, session } from './app.js';
import { h, clear, when, pill, problemBox, field, select, table } from './ui.js';

export function render(root) {
  const provider = select('provider', [['', 'any'], ...session.providers.map((p) => p.id)], '');
  const op = h('input', { name: 'op', placeholder: 'quote, order.create, …' });
  const outcome = h('input', { name: 'outcome', placeholder: 'ok, unavailable, …' });
  const list = h('div', { id: 'audit-list' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => load(false) }, 'More');
  let cursor = '';
  async function load(fresh) {
    if (fresh) { cursor = ''; clear(list); }
    const q = new URLSearchParams({ limit: '100' });
    if (provider.value) q.set('provider', provider.value);
    if (op.value.trim()) q.set('op', op.value.trim());
    if (outcome.value.trim()) q.set('outcome', outcome.value.trim());
    if (cursor) q.set('cursor', cursor);
    try {
      const page = await api('GET', '/v1/audit?' + q);
      const rows = page.entries || [];
      if (fresh && !rows.length) list.append(h('p', { class: 'muted' }, 'No entry.'));
      if (rows.length) {
        list.append(table('Audit entries', [
          { label: 'At', get: (e) => when(e.at) },
          { label: 'Provider', get: (e) => e.provider },
          { label: 'Operation', get: (e) => e.op },
          { label: 'Outcome', get: (e) => pill(e.outcome, e.outcome === 'ok' ? 'ok' : 'bad') },
          { label: 'Latency', num: true, get: (e) => (e.latency_ms !== undefined ? e.latency_ms.toFixed(1) + ' ms' : '') },
          { label: 'Policy', get: (e) => h('code', {}, e.policy_revision || '') },
          { label: 'Detail', field: 'detail', get: (e) => Object.entries(e.detail || {}).map(([k, v]) => h('div', {}, h('span', { class: 'muted' }, k + ' '), v)) }],
        rows, (e) => ({ 'data-audit-id': e.id })));
      }
      cursor = page.next_cursor || '';
      more.hidden = !cursor;
    } catch (e) {
      list.append(problemBox(e));
    }
  }
  const form = h('form', { class: 'row card', role: 'search' }, field('Provider', provider), field('Operation', op), field('Outcome', outcome),
    h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(true); });
  root.append(h('h1', { id: 'page-title' }, 'Audit log'),
    h('p', { class: 'muted' }, 'Personal data is masked as the API masks it (phones 138****6789, names 张*); addresses are never kept.'),
    form, list, more);
  load(true);
}
