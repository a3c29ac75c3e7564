// Small DOM helpers shared by the pages. Text from the API is always set
// as text (never as HTML).

// h makes an element: h('a', {href: '#'}, 'text', child, [more]).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'style') el.style.cssText = v; // CSSOM: allowed by the page's CSP
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, children);
  return el;
}

function add(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) add(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
}

let toastTimer;
export function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('show'), 2500);
}

// problemBox shows an error: a problem+json answer with its field, or any
// other error's message.
export function problemBox(e) {
  const p = e && e.problem;
  if (!p) return h('div', { class: 'problem', role: 'alert' }, String(e && e.message ? e.message : e));
  return h('div', { class: 'problem', role: 'alert', 'data-code': p.code || '' },
    h('strong', {}, `${p.status || ''} ${p.title || ''}`.trim()),
    p.field ? h('span', { class: 'muted' }, ' · field ', h('code', {}, p.field)) : null,
    p.provider ? h('span', { class: 'muted' }, ' · provider ', p.provider) : null,
    h('pre', {}, p.detail || ''),
    p.request_id ? h('div', { class: 'muted' }, 'request id ', h('code', {}, p.request_id)) : null);
}

export function money(m) {
  if (!m || typeof m.amount !== 'number') return '';
  const sign = m.amount < 0 ? '-' : '';
  const a = Math.abs(m.amount);
  const yuan = Math.floor(a / 100).toLocaleString('en-US');
  return `${sign}${yuan}.${String(a % 100).padStart(2, '0')} ${m.currency || ''}`.trim();
}

export function when(t) {
  if (!t) return '';
  const d = new Date(t);
  return isNaN(d) ? String(t) : d.toLocaleString();
}

export function pill(text, kind) {
  return h('span', { class: 'pill ' + (kind || text || '') }, text || '');
}

// table makes a table from column specs {label, get(row), num?} and rows.
export function table(caption, cols, rows, rowAttrs = () => ({})) {
  return h('table', {},
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : '' }, c.label)))),
    h('tbody', {}, rows.map((r) => h('tr', rowAttrs(r), cols.map((c) => h('td', { class: c.num ? 'num' : '', 'data-field': c.field || '' }, c.get(r)))))));
}

let seq = 0;
// field is a labelled control; the label wraps it.
export function field(label, control, hint) {
  if (!control.id) control.id = 'f' + (++seq);
  return h('label', { for: control.id }, label, control, hint ? h('span', { class: 'muted' }, hint) : null);
}

export function select(name, options, value) {
  return h('select', { name }, options.map((o) => {
    const [v, t] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: v === value ? true : undefined }, t);
  }));
}

export const categories = ['phone', 'tablet', 'laptop', 'desktop', 'camera', 'watch', 'earphones', 'console', 'car'];
const conditions = ['', 'new', 'like_new', 'excellent', 'good', 'fair', 'poor'];
const issues = ['screen_broken', 'screen_burn_in', 'battery_aged', 'camera_fault', 'biometric_fault', 'speaker_fault',
  'charging_fault', 'signal_fault', 'buttons_fault', 'water_damage', 'boot_fault', 'account_locked', 'housing_damaged',
  'trackpad_fault', 'other_functional'];

// itemForm is the form of an item of any category (a car has its own
// fields). value() answers the item as the API reads it.
export function itemForm(initial = {}) {
  const f = {};
  const input = (name, attrs = {}) => (f[name] = h('input', { name, ...attrs }));
  const cat = (f.category = select('category', categories, initial.category || 'phone'));
  const device = h('fieldset', {}, h('legend', {}, 'Device'),
    h('div', { class: 'row' },
      field('Brand', input('brand', { value: initial.brand ?? 'Apple' })),
      field('Model', input('model', { value: initial.model ?? 'iPhone 14 Pro' })),
      field('Storage', input('storage', { value: initial.storage ?? '256GB', placeholder: '256GB' })),
      field('RAM', input('ram', { placeholder: '8GB' })),
      field('Color', input('color')),
      field('Condition', (f.condition = select('condition', conditions.map((c) => [c, c || '(not said)']), initial.condition ?? 'excellent'))),
      field('Condition score (0-10)', input('condition_score', { type: 'number', min: 0, max: 10, step: 0.1 })),
      field('Repair history', input('repair_history')),
      field('Purchase channel', input('purchase_channel')),
      h('label', { class: 'inline' }, (f.original = h('input', { type: 'checkbox', name: 'original' })), 'Original parts (say yes)')),
    h('details', {}, h('summary', {}, 'Functional issues'),
      h('div', { class: 'row' }, issues.map((i) => h('label', { class: 'inline' },
        h('input', { type: 'checkbox', name: 'issue', value: i, 'data-issue': i }), i)))));
  const grade = (name, label, hi) => field(label, (f[name] = select(name, Array.from({ length: hi + 1 }, (_, i) => String(i)), '0')));
  const car = h('fieldset', {}, h('legend', {}, 'Car'),
    h('div', { class: 'row' },
      field('Brand', input('car_brand', { value: 'Toyota' })),
      field('Car type id', input('type_id', { value: initial.type_id ?? '52' })),
      field('City id', input('city_id', { value: initial.city_id ?? '101100' })),
      field('First registration', input('first_registration', { type: 'month', value: '2021-06' })),
      field('Mileage (km)', input('mileage_km', { type: 'number', min: 0, value: 30000 })),
      field('Transfers', input('transfers', { type: 'number', min: 0, value: 0 })),
      field('Color', input('car_color', { value: 'white' })),
      grade('accident', 'Accident (0 sound … 3 fire)', 3), grade('appearance', 'Appearance (0 best)', 4),
      grade('interior', 'Interior (0 best)', 3), grade('electrical', 'Electrical (0 best)', 2), grade('engine', 'Engine (0 best)', 4)));
  const root = h('div', { class: 'item-form' }, h('div', { class: 'row' }, field('Category', cat)), device, car);
  const sync = () => {
    const isCar = cat.value === 'car';
    device.hidden = isCar;
    car.hidden = !isCar;
  };
  cat.addEventListener('change', sync);
  sync();
  const str = (n) => f[n].value.trim() || undefined;
  root.value = () => {
    const item = { category: cat.value };
    if (cat.value === 'car') {
      item.brand = str('car_brand');
      item.car = {
        type_id: f.type_id.value.trim(), city_id: f.city_id.value.trim(),
        first_registration: f.first_registration.value, mileage_km: Number(f.mileage_km.value || 0),
        transfers: Number(f.transfers.value || 0), color: str('car_color'),
        accident: Number(f.accident.value), appearance: Number(f.appearance.value), interior: Number(f.interior.value),
        electrical: Number(f.electrical.value), engine: Number(f.engine.value),
      };
      return item;
    }
    for (const n of ['brand', 'model', 'storage', 'ram', 'color', 'repair_history', 'purchase_channel']) item[n] = str(n);
    if (f.condition.value) item.condition = f.condition.value;
    if (f.condition_score.value !== '') item.condition_score = Number(f.condition_score.value);
    if (f.original.checked) item.original = true;
    const picked = [...root.querySelectorAll('input[name=issue]:checked')].map((x) => x.value);
    if (picked.length) item.functional_issues = picked;
    return JSON.parse(JSON.stringify(item)); // drops the fields left undefined
  };
  root.fields = f;
  return root;
}

// explainView shows a policy decision: the revision, compliance, the route
// and why each provider was or was not asked, the quotes dropped, and the
// trace of rules.
export function explainView(d) {
  if (!d) return h('p', { class: 'muted' }, 'No decision.');
  const route = d.route || {};
  return h('div', { class: 'explain', 'data-revision': d.revision },
    h('dl', { class: 'kv' },
      h('dt', {}, 'Policy revision'), h('dd', {}, h('code', { 'data-field': 'revision' }, d.revision)),
      h('dt', {}, 'Compliance'), h('dd', { 'data-field': 'allowed' }, d.allowed ? pill('allowed', 'ok') :
        [pill('denied', 'bad'), ' by ', h('code', {}, d.denied?.rule || ''), ': ', d.denied?.message || '']),
      h('dt', {}, 'Route rule'), h('dd', {}, h('code', { 'data-field': 'route-rule' }, route.rule || '')),
      h('dt', {}, 'Providers'), h('dd', { 'data-field': 'route-providers' }, (route.providers || []).join(', ')),
      h('dt', {}, 'Strategy'), h('dd', {}, route.strategy || '')),
    route.choices?.length ? [h('h3', {}, 'Providers considered'),
      table('Providers considered', [
        { label: 'Provider', get: (c) => c.id },
        { label: 'Chosen', get: (c) => (c.chosen ? pill('yes', 'ok') : pill('no')) },
        { label: 'Why', get: (c) => c.reason || '' }], route.choices)] : null,
    h('h3', {}, 'Filters'),
    d.dropped?.length ? table('Quotes dropped', [
      { label: 'Provider', get: (x) => x.provider }, { label: 'Rule', get: (x) => x.rule },
      { label: 'Message', get: (x) => x.message || '' }], d.dropped) : h('p', { class: 'muted', 'data-field': 'dropped' }, 'No quote dropped.'),
    h('h3', {}, 'Trace'),
    table('Rules evaluated', [
      { label: 'Rule', get: (r) => h('code', {}, r.rule) }, { label: 'Kind', get: (r) => r.kind },
      { label: 'At', get: (r) => r.at || '' }, { label: 'Outcome', get: (r) => pill(r.outcome, /deny|drop|error/.test(r.outcome) ? 'warn' : 'ok') },
      { label: 'Detail', get: (r) => [r.shadow ? 'shadow ' : '', r.message || r.error || ''] }], d.rules || []));
}
