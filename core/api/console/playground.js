// The quote playground: an item of any category, the quotes side by side
// per provider with their breakdown, the route the policies chose, each
// provider's error, and an order from an orderable quote.
import { api, session } from './app.js';
import { h, clear, money, when, pill, problemBox, field, select, itemForm, explainView, toast } from './ui.js';

export function render(root) {
  const item = itemForm();
  const strategy = select('strategy', [['', '(the route\'s)'], 'best_price', 'all', 'first'], '');
  const providers = h('input', { name: 'providers', placeholder: 'all routed' });
  const explain = h('input', { type: 'checkbox', name: 'explain', checked: true });
  const out = h('div', { id: 'quote-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', id: 'quote-form' },
    item,
    h('div', { class: 'row' },
      field('Strategy', strategy),
      field('Providers (comma separated)', providers),
      h('label', { class: 'inline' }, explain, 'Explain the policy decision'),
      h('button', { type: 'submit', id: 'get-quotes' }, 'Get quotes')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const req = { item: item.value() };
    if (strategy.value) req.strategy = strategy.value;
    const ids = providers.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (ids.length) req.providers = ids;
    if (explain.checked) req.explain = true;
    clear(out);
    out.append(h('p', { class: 'muted' }, 'Asking the providers…'));
    try {
      const res = await api('POST', '/v1/quotes', req);
      clear(out);
      out.append(result(res));
    } catch (e) {
      clear(out);
      out.append(problemBox(e));
    }
  });
  root.append(h('h1', { id: 'page-title' }, 'Quote playground'), form, out);
}

function result(res) {
  const best = res.best && res.best.quote_id;
  const route = res.route || {};
  return h('div', {},
    h('h2', {}, 'Route'),
    h('p', { id: 'quote-route' }, 'Rule ', h('code', { 'data-field': 'route-rule' }, route.rule || '–'), ' asked ',
      h('strong', { 'data-field': 'route-providers' }, (route.providers || []).join(', ') || 'no provider'),
      ', strategy ', route.strategy || res.strategy || '', res.explain ? [' · policy revision ', h('code', { 'data-field': 'revision' }, res.explain.revision)] : null),
    h('h2', {}, `Quotes (${(res.quotes || []).length})`),
    h('div', { class: 'grid', id: 'quotes' },
      (res.quotes || []).map((q) => quoteCard(q, q.quote_id === best)),
      (res.errors || []).map((e) => h('div', { class: 'card problem', 'data-provider': e.provider, 'data-error': e.code },
        h('h3', {}, e.provider), pill(e.code, 'bad'), h('pre', {}, e.message || ''),
        e.provider_code ? h('div', { class: 'muted' }, `provider code ${e.provider_code}: ${e.provider_message || ''}`) : null))),
    res.explain ? h('details', {}, h('summary', {}, 'Policy decision'), explainView(res.explain)) : null,
    h('details', {}, h('summary', {}, 'The answer as JSON'), h('pre', {}, JSON.stringify(res, null, 2))));
}

function quoteCard(q, isBest) {
  const b = q.breakdown || {};
  const orderBox = h('div', {});
  const card = h('article', { class: 'card quote' + (isBest ? ' best' : ''), 'data-provider': q.provider, 'data-quote-id': q.quote_id },
    h('h3', {}, q.provider, isBest ? [' ', pill('best', 'ok')] : null),
    h('div', { class: 'price', 'data-field': 'price' }, money(q.price)),
    h('dl', { class: 'kv' },
      h('dt', {}, 'Quote id'), h('dd', {}, h('code', {}, q.quote_id)),
      h('dt', {}, 'Valid until'), h('dd', {}, when(q.valid_until)),
      h('dt', {}, 'Orderable'), h('dd', {}, q.orderable ? 'yes' : 'no'),
      q.deposit ? [h('dt', {}, 'Deposit'), h('dd', {}, money(q.deposit))] : null,
      b.base_price ? [h('dt', {}, 'Base price'), h('dd', {}, money(b.base_price))] : null,
      b.condition_discount !== undefined ? [h('dt', {}, 'Condition discount'), h('dd', {}, String(b.condition_discount))] : null,
      b.function_deduction ? [h('dt', {}, 'Function deduction'), h('dd', {}, money(b.function_deduction))] : null,
      b.market_coefficient !== undefined ? [h('dt', {}, 'Market coefficient'), h('dd', {}, String(b.market_coefficient))] : null,
      b.final_price ? [h('dt', {}, 'Final price'), h('dd', {}, money(b.final_price))] : null,
      q.channels ? [h('dt', {}, 'Channels'), h('dd', {}, q.channels.join(', '))] : null,
      Object.entries(q.tiers || {}).map(([k, m]) => [h('dt', {}, k.replace(/_/g, ' ')), h('dd', {}, money(m))])),
    q.remark ? h('p', { class: 'muted' }, q.remark) : null,
    q.orderable ? h('button', { type: 'button', class: 'secondary', 'data-action': 'order', onclick: () => orderForm(q, orderBox) }, 'Order this quote') : null,
    orderBox);
  return card;
}

// orderForm creates an order from the quote, once: the idempotency key is
// made when the form is, so pressing the button twice makes one order.
function orderForm(q, box) {
  clear(box);
  const key = crypto.randomUUID();
  const name = h('input', { name: 'name', value: '张三', required: true });
  const phone = h('input', { name: 'phone', value: '138****6789', required: true, pattern: '1[0-9]{2}\\*{4}[0-9]{4}' });
  const address = h('input', { name: 'address', value: '上海市浦东新区世纪大道 100 号' });
  const logistics = select('logistics', ['express', 'store'], 'express');
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'order-form' },
    h('div', { class: 'row' }, field('Name', name), field('Phone (masked)', phone, '138****6789'), field('Address', address), field('Logistics', logistics),
      h('button', { type: 'submit', 'data-action': 'create-order' }, 'Create order')), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out);
    try {
      const o = await api('POST', '/v1/orders', {
        provider: q.provider, quote_id: q.quote_id, logistics: logistics.value,
        customer: { name: name.value, phone: phone.value, address: address.value || undefined },
      }, { 'Idempotency-Key': key });
      session.lastOrder = o.id;
      toast('Order ' + o.id + ' created');
      out.append(h('p', { id: 'order-created' }, 'Order ', h('a', { href: '#/orders/' + encodeURIComponent(o.id), 'data-order-id': o.id }, o.id), ' is ', pill(o.state), '.'));
    } catch (e) {
      out.append(problemBox(e));
    }
  });
  box.append(form);
  name.focus();
}
