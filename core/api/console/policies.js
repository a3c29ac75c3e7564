// Policies (admin tenants): each file of the policy folder in an editor
// with line numbers, compiled as the operator types (POST
// /v1/policies/check) with each problem marked at its line and told as
// `host policy check` tells it; a dry run of a request against the files
// as edited (typed in an item form, or one of the recent recorded
// requests, GET /v1/policies/decisions); the folder's test cases run
// against them; what the edit would change of the recorded decisions (POST
// /v1/policies/replay), shown before Save; and Save, which the host
// refuses when the file changed since it was opened (with a diff) or does
// not compile, and otherwise writes atomically and reloads.
import { api, ProblemError } from './app.js';
import { h, clear, pill, problemBox, itemForm, explainView, table, when, toast } from './ui.js';

export async function render(root) {
  const data = await api('GET', '/v1/policies/files');
  const files = new Map(data.files.map((f) => [f.name, { base: f.revision, text: f.content, saved: f.content }]));
  let current = data.files[0]?.name;
  let lastCheck = null;

  const inForce = h('code', { id: 'policy-revision' }, data.revision);
  const loadedAt = h('span', { class: 'muted' });
  const lastError = h('div', {});
  const tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': 'Policy files' });
  const gutter = h('pre', { class: 'gutter', 'aria-hidden': 'true', id: 'policy-gutter' });
  const editor = h('textarea', { id: 'policy-editor', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', wrap: 'off',
    'aria-describedby': 'policy-check-status', 'aria-label': 'Policy file' });
  const checkStatus = h('p', { id: 'policy-check-status', 'aria-live': 'polite' });
  const diagList = h('div', { id: 'policy-diagnostics' });
  const save = h('button', { type: 'button', id: 'policy-save' }, 'Save');
  const revert = h('button', { type: 'button', class: 'secondary', id: 'policy-revert' }, 'Revert to the file');
  const saveOut = h('div', { id: 'policy-save-result', 'aria-live': 'polite' });
  const impact = h('p', { id: 'policy-impact', 'aria-live': 'polite', class: 'muted' });
  const readOnly = data.writable ? null : h('p', { class: 'problem', id: 'policy-readonly' }, 'Saving is off: ', data.read_only);

  // The editor.
  function lines() {
    const n = editor.value.split('\n').length;
    const bad = new Set((lastCheck?.diagnostics || []).filter((d) => base(d.file) === current && d.line > 0).map((d) => d.line));
    clear(gutter);
    for (let i = 1; i <= n; i++) {
      gutter.append(h('span', bad.has(i) ? { class: 'error', 'data-line': i, title: 'a problem on this line' } : { 'data-line': i }, String(i)));
    }
    gutter.scrollTop = editor.scrollTop;
  }
  editor.addEventListener('scroll', () => { gutter.scrollTop = editor.scrollTop; });
  let timer = null;
  editor.addEventListener('input', () => {
    files.get(current).text = editor.value;
    lines();
    clearTimeout(timer);
    timer = setTimeout(check, 250);
    markTabs();
  });

  function show(name) {
    current = name;
    editor.value = files.get(name).text;
    editor.setAttribute('aria-label', 'Policy file ' + name);
    editor.scrollTop = 0;
    markTabs();
    lines();
    showDiagnostics();
  }
  function markTabs() {
    clear(tabs);
    for (const [name, f] of files) {
      const b = h('button', { type: 'button', 'aria-pressed': name === current ? 'true' : 'false', 'data-file': name,
        onclick: () => show(name) }, name, f.text !== f.saved ? ' •' : '');
      tabs.append(b);
    }
  }
  const edits = () => Object.fromEntries([...files].map(([n, f]) => [n, f.text]));

  // Compiling as the operator types. A newer check wins over an older one
  // still in flight.
  let checks = 0;
  async function check() {
    const n = ++checks;
    try {
      const res = await api('POST', '/v1/policies/check', { files: edits() });
      if (n !== checks) return;
      lastCheck = res;
    } catch (e) {
      if (n !== checks) return;
      lastCheck = { ok: false, diagnostics: [], text: e.message };
    }
    lines();
    showDiagnostics();
    if (lastCheck.ok) replay(n);
  }
  // What the edit would change of the recorded decisions, before Save: the
  // files as edited replayed on the last day's decisions.
  async function replay(n) {
    try {
      const r = await api('POST', '/v1/policies/replay', { policies: edits(), examples: 1 });
      if (n !== checks) return;
      impact.className = r.changed ? 'warn-text' : 'muted';
      impact.dataset.changed = String(r.changed);
      impact.dataset.decisions = String(r.decisions);
      impact.textContent = `This edit would change ${r.changed} of the last ${r.decisions} decisions` +
        (r.rules?.length ? ` (${r.rules.map((c) => c.rule).join(', ')})` : '') +
        (r.violations?.length ? `, and break ${r.violations.length} test case(s): ${r.violations.map((v) => v.case).join(', ')}` : '') + '.';
    } catch (e) {
      if (n !== checks) return;
      impact.className = 'muted';
      delete impact.dataset.changed;
      impact.textContent = 'What this edit would change of the recorded decisions is not known: ' + e.message;
    }
  }
  function showDiagnostics() {
    clear(diagList);
    if (!lastCheck) return;
    checkStatus.textContent = lastCheck.ok ? `Compiles: ${lastCheck.rules} rules, revision ${lastCheck.revision}.` : `Does not compile: ${lastCheck.diagnostics.length} problem(s).`;
    checkStatus.className = lastCheck.ok ? '' : 'error-text';
    checkStatus.dataset.ok = lastCheck.ok ? 'true' : 'false';
    for (const d of lastCheck.diagnostics || []) {
      diagList.append(h('button', { type: 'button', class: 'diag', 'data-file': base(d.file), 'data-line': d.line, 'data-column': d.column,
        onclick: () => go(d) }, h('pre', {}, d.text)));
    }
    save.disabled = !data.writable || !lastCheck.ok;
  }
  function go(d) {
    const name = base(d.file);
    if (files.has(name) && name !== current) show(name);
    const ls = editor.value.split('\n');
    let pos = 0;
    for (let i = 0; i < d.line - 1 && i < ls.length; i++) pos += ls[i].length + 1;
    pos += Math.max(0, d.column - 1);
    editor.focus();
    editor.setSelectionRange(pos, pos);
  }

  // Save: the file with the revision it was opened at.
  save.addEventListener('click', async () => {
    clear(saveOut);
    const f = files.get(current);
    try {
      const res = await api('PUT', '/v1/policies/files/' + encodeURIComponent(current), { content: f.text, base_revision: f.base });
      f.base = res.file_revision;
      f.saved = f.text;
      inForce.textContent = res.revision;
      markTabs();
      toast(`Saved ${current}; revision ${res.revision} in force`);
      saveOut.append(h('p', { id: 'policy-saved' }, `Saved ${current}. The revision in force is `, h('code', {}, res.revision), '.'));
    } catch (e) {
      const p = e instanceof ProblemError ? e.problem : null;
      saveOut.append(problemBox(e));
      if (p?.diff !== undefined) {
        saveOut.append(h('h3', {}, 'The file as it is now, against yours'),
          h('pre', { class: 'diff', id: 'policy-diff' }, p.diff.split('\n').map((l) => h('span', { class: l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : '' }, l + '\n'))),
          h('p', { class: 'row' },
            h('button', { type: 'button', class: 'secondary', onclick: () => { f.base = p.current_revision; toast('Your text now replaces revision ' + p.current_revision + ' when saved'); } },
              'Keep my text over theirs'),
            h('button', { type: 'button', class: 'secondary', onclick: () => {
              f.base = p.current_revision; f.text = p.current; f.saved = p.current; show(current); check(); clear(saveOut);
            } }, 'Take the file as it is now')));
      }
    }
  });
  revert.addEventListener('click', () => {
    const f = files.get(current);
    f.text = f.saved;
    show(current);
    check();
  });

  // The dry run.
  const item = itemForm();
  const dryOut = h('div', { id: 'policy-dry-run-result', 'aria-live': 'polite' });
  const dry = h('form', { class: 'card' }, item, h('p', {}, h('button', { type: 'submit', id: 'policy-dry-run' }, 'Dry run against the files as edited')), dryOut);
  dry.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(dryOut);
    try {
      const d = await api('POST', '/v1/policies/evaluate', { request: { item: item.value() }, policies: edits() });
      dryOut.append(explainView(d));
    } catch (e) {
      dryOut.append(problemBox(e));
    }
  });

  // A dry run of a recorded request: one of the newest decisions the host
  // recorded (masked as recorded), against the files as edited.
  const recorded = h('select', { id: 'policy-recorded', 'aria-label': 'Recorded request' }, h('option', { value: '' }, 'Loading the recorded requests…'));
  const recordedOut = h('div', { id: 'policy-recorded-result', 'aria-live': 'polite' });
  let decisions = [];
  const fromRecord = h('form', { class: 'card' },
    h('p', { class: 'row' }, h('label', { for: 'policy-recorded' }, 'Recorded request '), recorded,
      h('button', { type: 'submit', id: 'policy-dry-run-recorded' }, 'Dry run it against the files as edited')),
    recordedOut);
  async function loadRecorded() {
    try {
      decisions = (await api('GET', '/v1/policies/decisions?limit=20')).decisions || [];
      clear(recorded);
      if (!decisions.length) recorded.append(h('option', { value: '' }, 'No recorded decision yet'));
      decisions.forEach((d, i) => recorded.append(h('option', { value: String(i), 'data-id': d.id },
        `#${d.id} ${when(d.at)} ${d.tenant}: ${describe(d.request)} → ${d.outcome.allowed ? (d.outcome.route?.rule || 'routed') : 'denied by ' + (d.outcome.denied?.rule || '?')}`)));
    } catch (e) {
      clear(recorded);
      recorded.append(h('option', { value: '' }, 'The recorded requests cannot be read'));
      recordedOut.append(problemBox(e));
    }
  }
  fromRecord.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(recordedOut);
    const d = decisions[Number(recorded.value)];
    if (!d || recorded.value === '') return;
    try {
      const res = await api('POST', '/v1/policies/evaluate', { ...evaluation(d.request), policies: edits() });
      recordedOut.append(h('p', { class: 'muted' }, `Recorded #${d.id} at revision ${d.revision}: `,
        d.outcome.allowed ? `routed by ${d.outcome.route?.rule || 'the default'}` : `denied by ${d.outcome.denied?.rule || '?'}`, '. As edited:'),
      explainView(res));
    } catch (e) {
      recordedOut.append(problemBox(e));
    }
  });

  // The test cases.
  const testOut = h('div', { id: 'policy-tests-result', 'aria-live': 'polite' });
  const runTests = h('button', { type: 'button', id: 'policy-run-tests', disabled: !data.cases }, `Run the ${data.cases} test case(s)`);
  runTests.addEventListener('click', async () => {
    clear(testOut);
    try {
      const r = await api('POST', '/v1/policies/test', { files: edits() });
      testOut.append(h('p', { id: 'policy-tests-summary' }, `${r.passed} passed, ${r.failed} failed (revision ${r.revision})`),
        table('Test cases', [
          { label: 'Case', get: (c) => c.name },
          { label: 'Result', get: (c) => pill(c.passed ? 'passed' : 'failed', c.passed ? 'ok' : 'bad') },
          { label: 'Failures', get: (c) => c.failures.map((f) => h('div', {}, f)) }], r.cases));
    } catch (e) {
      testOut.append(problemBox(e));
    }
  });

  // The revision in force, and a refused reload, as the host tells them.
  let stopped = false;
  let poll = null;
  async function status() {
    try {
      const st = await api('GET', '/v1/policies');
      inForce.textContent = st.revision;
      loadedAt.textContent = st.loaded_at ? ' loaded ' + when(st.loaded_at) : '';
      clear(lastError);
      if (st.last_error) {
        lastError.append(h('div', { class: 'problem' }, 'The host refused the folder as it is on disk (the revision above stays in force): ',
          h('pre', {}, st.last_error.message)));
      }
    } catch { /* shown by the next action */ }
    if (!stopped) poll = setTimeout(status, 2000);
  }

  root.append(h('h1', { id: 'page-title' }, 'Policies'),
    h('p', {}, 'Revision in force: ', inForce, loadedAt, h('span', { class: 'muted' }, ' · folder ', h('code', {}, data.dir))),
    lastError, readOnly || '',
    h('div', { class: 'split' },
      h('div', {}, tabs,
        h('div', { class: 'editor' }, gutter, editor),
        impact,
        h('p', { class: 'row' }, save, revert),
        saveOut),
      h('div', {}, h('h2', {}, 'Check'), checkStatus, diagList,
        h('h2', {}, 'Test cases'), runTests, testOut)),
    h('h2', {}, 'Dry run'), dry,
    h('h2', {}, 'Dry run of a recorded request'), fromRecord);
  if (!data.writable) save.disabled = true;
  show(current);
  check();
  status();
  loadRecorded();
  return () => { stopped = true; clearTimeout(poll); clearTimeout(timer); };
}

const base = (p) => (p || '').split('/').pop();

// describe names a recorded request in a line.
function describe(r) {
  const it = r.item || {};
  return [r.kind && r.kind !== 'quote' ? r.kind : '', it.category, it.brand, it.model, it.storage, it.condition].filter(Boolean).join(' ');
}

// evaluation is the body of POST /v1/policies/evaluate for a recorded
// request (as the policies read it): its item with the empty fields left
// out, and its kind, batch size and order.
function evaluation(r) {
  const it = r.item || {};
  const item = {};
  for (const k of ['category', 'brand', 'model', 'storage', 'condition', 'purchase_channel']) if (it[k]) item[k] = it[k];
  if (it.condition_score) item.condition_score = it.condition_score;
  if (it.functional_issues?.length) item.functional_issues = it.functional_issues;
  if (it.category === 'car' && it.car) item.car = { ...it.car };
  const request = { item };
  if (r.providers?.length) request.providers = r.providers;
  if (r.strategy) request.strategy = r.strategy;
  const body = { request };
  if (r.kind && r.kind !== 'quote') body.kind = r.kind;
  if (r.kind === 'batch' && r.batch_size) body.batch_size = r.batch_size;
  if (r.kind === 'order' && r.order) body.order = r.order;
  return body;
}
