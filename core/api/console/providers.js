// Providers: every provider's runtime, state, process, guards and recent
// calls, read from GET /v1/providers every 2 seconds while the page is
// shown. Calls per second are the difference of two readings.
import { api, session } from './app.js';
import { h, clear, money, pill, problemBox } from './ui.js';

const every = 2000;

export function render(root) {
  const status = h('p', { class: 'muted', 'aria-live': 'polite', id: 'providers-updated' });
  const body = h('div', {});
  root.append(h('h1', { id: 'page-title' }, 'Providers'),
    h('p', { class: 'muted' }, 'Refreshed every 2 s. Calls/s counts the calls that reached the provider; the error rate is over its recent calls.'),
    status, body);
  const last = new Map(); // id -> {calls, at}
  let timer = null;
  let stopped = false;

  async function tick() {
    try {
      const list = (await api('GET', '/v1/providers')).providers || [];
      session.providers = list;
      const now = performance.now();
      clear(body);
      body.append(view(list, now));
      status.textContent = 'Updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      clear(body);
      body.append(problemBox(e));
    }
    if (!stopped) timer = setTimeout(tick, every);
  }

  function rate(p, now) {
    const g = p.guards || {};
    const prev = last.get(p.id);
    last.set(p.id, { calls: g.calls || 0, at: now });
    if (!prev || now <= prev.at) return '–';
    return (((g.calls || 0) - prev.calls) / ((now - prev.at) / 1000)).toFixed(1);
  }

  function view(list, now) {
    const rows = list.map((p) => {
      const g = p.guards || {};
      const q = g.quota;
      const b = g.budget;
      return h('tr', { 'data-provider': p.id, 'data-state': p.state },
        h('th', { scope: 'row' }, p.id, h('div', { class: 'muted' }, p.name || '', p.version ? ' ' + p.version : '')),
        h('td', {}, p.runtime),
        h('td', { 'data-field': 'state' }, pill(p.state)),
        h('td', { class: 'num', 'data-field': 'pid' }, p.pid || '–'),
        h('td', { class: 'num', 'data-field': 'restarts' }, String(p.restarts ?? 0)),
        h('td', { 'data-field': 'breaker' }, pill(g.breaker || 'closed')),
        h('td', { class: 'num', 'data-field': 'qps' }, rate(p, now), g.qps ? h('div', { class: 'muted' }, 'limit ' + g.qps) : null),
        h('td', { class: 'num', 'data-field': 'in-flight' }, `${g.in_flight ?? 0}${g.max_in_flight ? ' / ' + g.max_in_flight : ''}`),
        h('td', { class: 'num', 'data-field': 'quota' }, q ? `${q.used} used / ${q.left} left` : 'no quota'),
        h('td', { class: 'num', 'data-field': 'budget' }, b ? [money(b.day_spent), ' today', h('div', { class: 'muted' }, money(b.month_spent) + ' this month')] : 'free'),
        h('td', { class: 'num', 'data-field': 'latency' }, p.latency || '–'),
        h('td', { class: 'num', 'data-field': 'error-rate' }, g.calls ? (100 * (g.error_rate || 0)).toFixed(1) + ' %' : '–',
          g.calls ? h('div', { class: 'muted' }, `${g.errors || 0} of ${g.calls}`) : null),
        h('td', { 'data-field': 'last-error', class: 'error-text' }, p.last_error || ''));
    });
    const head = ['Provider', 'Runtime', 'State', 'PID', 'Restarts', 'Breaker', 'Calls/s', 'In flight', 'Quota today', 'Budget spent', 'Latency', 'Error rate', 'Last error'];
    return h('div', { class: 'card', style: 'overflow-x: auto' }, h('table', { id: 'providers' },
      h('caption', { class: 'sr-only' }, 'Providers and their guards'),
      h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)),
    h('p', { class: 'muted' }, `${list.filter((p) => p.state === 'ready').length} of ${list.length} ready`));
  }

  tick();
  return () => { stopped = true; clearTimeout(timer); };
}
