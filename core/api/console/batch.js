// Batch: a device list (CSV or XLSX, the columns of `host batch`) sent as
// one POST /v1/quotes/batch, its answers counted into a progress bar as
// they stream in, and a report to download (CSV: each input row, then
// status, price, provider, quote id, validity and the reason there is no
// quote).
import { api, stream } from './app.js';
import { h, clear, problemBox, field } from './ui.js';
import { parseCSV, parseXLSX, toCSV } from './sheet.js';

const aliases = { colour: 'color', issues: 'functional_issues', functional_status: 'functional_issues', type_id: 'car_type',
  city_id: 'city', registered: 'first_registration', mileage: 'mileage_km', provider: 'providers' };
const colName = (s) => { const n = s.trim().toLowerCase().replace(/[ -]/g, '_'); return aliases[n] || n; };

// request makes a row's quote request as `host batch` does, or throws why
// it cannot.
function request(cols, row) {
  const get = (n) => (cols[n] === undefined ? '' : String(row[cols[n]] ?? '').trim());
  const item = { category: get('category').toLowerCase() };
  if (!item.category) throw new Error('no category');
  const num = (n, v, int) => {
    const x = Number(v);
    if (v === '' || Number.isNaN(x) || (int && !Number.isInteger(x))) throw new Error(`${n} ${JSON.stringify(v)}: want a ${int ? 'whole ' : ''}number`);
    return x;
  };
  for (const n of ['brand', 'model', 'storage', 'ram', 'color', 'repair_history', 'purchase_channel']) if (get(n)) item[n] = get(n);
  if (get('condition')) item.condition = get('condition').toLowerCase().replace(/ /g, '_');
  if (get('condition_score')) item.condition_score = num('condition_score', get('condition_score'));
  const issues = get('functional_issues');
  if (issues && issues.toLowerCase() !== 'none') item.functional_issues = issues.split(/[;,|、]/).map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (get('original')) item.original = /^(yes|y|true|1|是)$/i.test(get('original'));
  if (item.category === 'car') {
    const car = { type_id: get('car_type'), city_id: get('city'), first_registration: get('first_registration'),
      mileage_km: get('mileage_km') ? num('mileage_km', get('mileage_km'), true) : 0 };
    if (get('car_color')) car.color = get('car_color');
    if (get('transfers')) car.transfers = num('transfers', get('transfers'), true);
    for (const g of ['accident', 'appearance', 'interior', 'electrical', 'engine']) car[g] = get(g) ? num(g, get(g), true) : 0;
    item.car = car;
    for (const n of ['model', 'storage', 'ram', 'condition']) delete item[n];
  }
  const req = { item };
  if (get('providers')) req.providers = get('providers').split(/[;,]/).map((s) => s.trim()).filter(Boolean);
  if (get('strategy')) req.strategy = get('strategy');
  return req;
}

export function render(root) {
  const file = h('input', { type: 'file', id: 'batch-file', accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' });
  const info = h('div', { 'aria-live': 'polite' });
  const go = h('button', { type: 'submit', id: 'batch-start', disabled: true }, 'Quote the list');
  const bar = h('progress', { id: 'batch-progress', max: 1, value: 0, 'aria-label': 'Batch progress' });
  const counts = h('p', { id: 'batch-counts', 'aria-live': 'polite' });
  const result = h('div', { id: 'batch-result' });
  let sheet = null;

  file.addEventListener('change', async () => {
    clear(info); clear(result); sheet = null; go.disabled = true;
    const f = file.files[0];
    if (!f) return;
    try {
      const rows = /\.xlsx$/i.test(f.name) ? await parseXLSX(await f.arrayBuffer()) : parseCSV(await f.text());
      if (rows.length < 2) throw new Error('the first row names the columns (category, brand, model, ...); no device below it');
      const header = rows[0].map(String);
      const cols = {};
      header.forEach((x, i) => { cols[colName(x)] = i; });
      if (cols.category === undefined) throw new Error(`no category column in the first row (${header.join(', ')})`);
      sheet = { name: f.name, header, cols, rows: rows.slice(1) };
      info.append(h('p', { id: 'batch-loaded' }, `${f.name}: ${sheet.rows.length} device(s), columns ${header.join(', ')}.`));
      go.disabled = false;
    } catch (e) {
      info.append(problemBox(e));
    }
  });

  const form = h('form', { class: 'card' }, h('div', { class: 'row' }, field('Device list (CSV or XLSX)', file), go),
    info, h('label', { for: 'batch-progress' }, 'Progress', bar), counts);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!sheet) return;
    go.disabled = true;
    clear(result);
    const reqs = [];
    const invalid = new Map(); // row index -> reason
    const sent = []; // the row index of each request sent
    sheet.rows.forEach((row, i) => {
      try { reqs.push(JSON.stringify(request(sheet.cols, row))); sent.push(i); } catch (e) { invalid.set(i, e.message); }
    });
    const answers = new Map(); // row index -> answer line
    bar.max = sheet.rows.length;
    const show = () => {
      bar.value = answers.size + invalid.size;
      counts.textContent = `${answers.size + invalid.size} of ${sheet.rows.length} answered`;
    };
    show();
    try {
      if (reqs.length) {
        await stream('/v1/quotes/batch', reqs.join('\n') + '\n', 'application/x-ndjson', (line) => {
          if (line.index === undefined) throw new Error(line.error?.message || 'the batch stopped');
          answers.set(sent[line.index], line);
          show();
        });
      }
    } catch (e) {
      result.append(problemBox(e));
    }
    result.append(report(sheet, answers, invalid));
    go.disabled = false;
  });

  root.append(h('h1', { id: 'page-title' }, 'Batch'),
    h('p', { class: 'muted' }, 'The first row names the columns: category (required), brand, model, storage, ram, color, condition, condition_score, functional_issues, original; for cars car_type, city, first_registration, mileage_km, transfers, car_color, accident, appearance, interior, electrical, engine; optionally providers and strategy. Other columns are copied into the report.'),
    form, result);
}

const yuan = (fen) => `${fen < 0 ? '-' : ''}${Math.floor(Math.abs(fen) / 100)}.${String(Math.abs(fen) % 100).padStart(2, '0')}`;

function report(sheet, answers, invalid) {
  const out = [['line', ...sheet.header, 'status', 'price_yuan', 'currency', 'provider', 'quote_id', 'valid_until', 'orderable', 'reason']];
  const n = { quoted: 0, no_quote: 0, invalid: 0, left: 0 };
  let total = 0;
  const xrows = [];
  sheet.rows.forEach((row, i) => {
    const vals = sheet.header.map((_, j) => row[j] ?? '');
    const a = answers.get(i);
    let cells;
    if (invalid.has(i)) { n.invalid++; cells = ['invalid', '', '', '', '', '', '', invalid.get(i)]; }
    else if (!a) { n.left++; cells = ['left', '', '', '', '', '', '', 'not answered']; }
    else if (a.error) { n.invalid++; cells = ['invalid', '', '', '', '', '', '', a.error.message || a.error.code]; }
    else if (a.best) {
      n.quoted++;
      total += a.best.price.amount;
      cells = ['quoted', yuan(a.best.price.amount), a.best.price.currency, a.best.provider, a.best.quote_id, a.best.valid_until, String(a.best.orderable), ''];
    } else {
      n.no_quote++;
      cells = ['no_quote', '', '', '', '', '', '', (a.errors || []).map((e) => `${e.provider}: ${e.message}`).join('; ') || 'no provider quoted'];
    }
    out.push([String(i + 2), ...vals, ...cells]);
    xrows.push({ line: i + 2, values: vals.map(String), status: cells[0], quote: cells[0] === 'quoted' ? a.best : undefined, reason: cells[7] || undefined });
  });
  const problems = out.slice(1).filter((r) => r[r.length - 1] !== '');
  const blob = new Blob([toCSV(out)], { type: 'text/csv' });
  const name = sheet.name.replace(/\.(csv|xlsx)$/i, '') + '-report.csv';
  return h('div', { class: 'card' },
    h('p', { id: 'batch-summary' }, `${n.quoted} quoted (total ${yuan(total)} CNY), ${n.no_quote} without a quote, ${n.invalid} invalid, ${n.left} left.`),
    h('p', { class: 'row' },
      h('a', { href: URL.createObjectURL(blob), download: name, id: 'batch-download' }, 'Download the report (' + name + ')'),
      xlsxButton(sheet, xrows)),
    problems.length ? h('details', { open: true }, h('summary', {}, `Rows without a quote (${problems.length})`),
      h('ul', { id: 'batch-problems' }, problems.slice(0, 50).map((r) => h('li', {}, `line ${r[0]}: ${r[r.length - 1]}`)))) : null);
}

// xlsxButton downloads the report as the workbook `host batch -o
// report.xlsx` writes, made by the API (POST /v1/quotes/batch/report).
function xlsxButton(sheet, rows) {
  const out = h('span', { 'aria-live': 'polite' });
  const b = h('button', { type: 'button', class: 'secondary', id: 'batch-download-xlsx' }, 'Download as XLSX');
  b.addEventListener('click', async () => {
    clear(out);
    try {
      const blob = await api('POST', '/v1/quotes/batch/report', { name: sheet.name, columns: sheet.header.map(String), rows });
      const a = h('a', { href: URL.createObjectURL(blob), download: sheet.name.replace(/\.(csv|xlsx)$/i, '') + '-report.xlsx', id: 'batch-xlsx-link' }, 'the workbook');
      out.append(' Saved ', a, '.');
      a.click();
    } catch (e) {
      out.append(problemBox(e));
    }
  });
  return h('span', {}, b, out);
}
