// Orders: the tenant's orders filtered by state and provider, a page at a
// time; an order's timeline (its states, tracking, inspection and
// settlement, webhook deliveries), refreshed every 2 seconds while it is
// shown.
import { api, session } from './app.js';
import { h, clear, money, when, pill, problemBox, field, select, table } from './ui.js';

const states = ['', 'waiting_to_ship', 'in_transit', 'received', 'inspecting', 'inspected', 'completed', 'cancelled', 'returned'];

export function render(root, { args }) {
  if (args[0]) return detail(root, args[0]);
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const state = select('state', states.map((s) => [s, s || 'any']), params.get('state') || '');
  const provider = select('provider', [['', 'any'], ...session.providers.map((p) => p.id)], params.get('provider') || '');
  const list = h('div', { id: 'orders-list' });
  let cursor = '';
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => load(false) }, 'More');
  async function load(fresh) {
    if (fresh) { cursor = ''; clear(list); }
    const q = new URLSearchParams({ limit: '50' });
    if (state.value) q.set('state', state.value);
    if (provider.value) q.set('provider', provider.value);
    if (cursor) q.set('cursor', cursor);
    try {
      const page = await api('GET', '/v1/orders?' + q);
      const rows = page.orders || [];
      if (fresh && rows.length === 0) list.append(h('p', { class: 'muted' }, 'No order.'));
      if (rows.length) {
        list.append(table('Orders', [
          { label: 'Order', get: (o) => h('a', { href: '#/orders/' + encodeURIComponent(o.id) }, o.id) },
          { label: 'State', field: 'state', get: (o) => pill(o.state) },
          { label: 'Provider', get: (o) => o.provider },
          { label: 'Price', num: true, get: (o) => money(o.price) },
          { label: 'Customer', get: (o) => (o.customer ? `${o.customer.name || ''} ${o.customer.phone || ''}` : '') },
          { label: 'Created', get: (o) => when(o.created_at) },
          { label: 'Updated', get: (o) => when(o.updated_at) }], rows, (o) => ({ 'data-order-id': o.id })));
      }
      cursor = page.next_cursor || '';
      more.hidden = !cursor;
    } catch (e) {
      list.append(problemBox(e));
    }
  }
  const form = h('form', { class: 'row card', role: 'search' }, field('State', state), field('Provider', provider),
    h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(true); });
  root.append(h('h1', { id: 'page-title' }, 'Orders'), form, list, more);
  load(true);
}

function detail(root, id) {
  const body = h('div', { id: 'order-detail', 'data-order-id': id });
  root.append(h('p', {}, h('a', { href: '#/orders' }, '← All orders')), h('h1', { id: 'page-title' }, 'Order ', h('code', {}, id)), body);
  let timer = null;
  let stopped = false;
  async function part(path, key) {
    try {
      return { value: (await api('GET', path))[key] };
    } catch (e) {
      return { error: e };
    }
  }
  async function tick() {
    try {
      const enc = encodeURIComponent(id);
      const o = await api('GET', '/v1/orders/' + enc);
      const [tr, ins, st, wh] = await Promise.all([
        part(`/v1/orders/${enc}/tracking`, 'tracking'), part(`/v1/orders/${enc}/inspection`, 'inspection'),
        part(`/v1/orders/${enc}/settlement`, 'settlement'), part(`/v1/orders/${enc}/webhook-deliveries`, 'deliveries')]);
      clear(body);
      body.append(view(o, tr, ins, st, wh));
    } catch (e) {
      clear(body);
      body.append(problemBox(e));
    }
    if (!stopped) timer = setTimeout(tick, 2000);
  }
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

// notYet says why a part of an order is not there: the order has not got
// that far (a 404 or 409 from the provider), or the error.
function notYet(r) {
  if (r.error?.status === 404 || r.error?.status === 409 || r.error?.status === 422) return h('p', { class: 'muted' }, 'Not yet: ', r.error.message);
  return problemBox(r.error);
}

function view(o, tr, ins, st, wh) {
  return h('div', { class: 'split' },
    h('div', {},
      h('div', { class: 'card' }, h('dl', { class: 'kv' },
        h('dt', {}, 'State'), h('dd', { 'data-field': 'state' }, pill(o.state), o.provider_state ? h('span', { class: 'muted' }, ` (${o.provider}: ${o.provider_state})`) : null),
        h('dt', {}, 'Provider'), h('dd', {}, o.provider, o.provider_order_id ? h('span', { class: 'muted' }, ' order ' + o.provider_order_id) : null),
        h('dt', {}, 'Quote'), h('dd', {}, h('code', {}, o.quote_id || '')),
        h('dt', {}, 'Price'), h('dd', {}, money(o.price)),
        h('dt', {}, 'Logistics'), h('dd', {}, o.logistics || '', o.carrier ? ` · ${o.carrier} ${o.tracking_no || ''}` : ''),
        h('dt', {}, 'Customer'), h('dd', {}, o.customer ? `${o.customer.name || ''} ${o.customer.phone || ''}` : ''),
        h('dt', {}, 'Created'), h('dd', {}, when(o.created_at)),
        h('dt', {}, 'Updated'), h('dd', {}, when(o.updated_at)),
        o.trade_in_id ? [h('dt', {}, 'Trade-in'), h('dd', {}, o.trade_in_id)] : null)),
      h('h2', {}, 'History'),
      h('ol', { class: 'timeline', id: 'order-history' }, (o.history || []).map((c) =>
        h('li', { 'data-state': c.state }, pill(c.state), ' ', when(c.at), c.provider_state ? h('span', { class: 'muted' }, ` (${c.provider_state})`) : null)))),
    h('div', {},
      h('h2', {}, 'Tracking'),
      tr.error ? notYet(tr) : h('div', { class: 'card', id: 'order-tracking' },
        h('p', {}, `${tr.value?.carrier || ''} ${tr.value?.tracking_no || ''} `, tr.value?.status ? pill(tr.value.status) : null),
        h('ol', { class: 'timeline' }, (tr.value?.events || []).map((e) => h('li', {}, when(e.at), ' ', e.location || '', ' ', e.description || '')))),
      h('h2', {}, 'Inspection'),
      ins.error ? notYet(ins) : h('div', { class: 'card', id: 'order-inspection' },
        h('p', {}, ins.value?.conclusion || '', ' ', ins.value?.condition ? pill(ins.value.condition) : null),
        h('p', {}, 'Quoted ', money(ins.value?.quoted_price), ' · final ', money(ins.value?.final_price)),
        h('ul', {}, (ins.value?.checks || []).map((c) => h('li', {}, c.passed ? '✓ ' : '✗ ', c.name, c.result ? ': ' + c.result : '')))),
      h('h2', {}, 'Settlement'),
      st.error ? notYet(st) : h('div', { class: 'card', id: 'order-settlement' },
        h('p', {}, money(st.value?.amount), ' ', st.value?.status ? pill(st.value.status) : null, st.value?.paid_at ? ' paid ' + when(st.value.paid_at) : '')),
      h('h2', {}, 'Webhook deliveries'),
      deliveries(wh)));
}

// deliveries lists the order's webhook events: each state change sent to
// the tenant's webhook_url, its attempts and whether it was answered 2xx.
function deliveries(wh) {
  if (wh.error) return problemBox(wh.error);
  const rows = wh.value || [];
  if (rows.length === 0) return h('p', { class: 'muted', id: 'order-webhooks' }, 'No webhook event (the tenant has no webhook_url, or no state change yet).');
  return h('div', { id: 'order-webhooks' }, table('Webhook deliveries', [
    { label: 'Event', get: (d) => h('code', {}, d.event_id || '') },
    { label: 'State', get: (d) => (d.state ? pill(d.state) : d.type) },
    { label: 'Status', field: 'status', get: (d) => pill(d.status) },
    { label: 'Attempts', num: true, get: (d) => String(d.attempts) },
    { label: 'Time', get: (d) => when(d.delivered_at || d.next_attempt_at || d.created_at) },
    { label: 'Last error', get: (d) => d.last_error || '' }], rows, (d) => ({ 'data-status': d.status })));
}
