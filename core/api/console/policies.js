// Policies (admin tenants): each file of the policy folder in an editor
// with line numbers, compiled as the operator types (POST
// /v1/policies/check) with each problem marked at its line and told as
// `host policy check` tells it; a dry run of a request against the files
// as edited; the folder's test cases run against them; and Save, which the
// host refuses when the file changed since it was opened (with a diff) or
// does not compile, and otherwise writes atomically and reloads.
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
        h('p', { class: 'row' }, save, revert),
        saveOut),
      h('div', {}, h('h2', {}, 'Check'), checkStatus, diagList,
        h('h2', {}, 'Test cases'), runTests, testOut)),
    h('h2', {}, 'Dry run'), dry);
  if (!data.writable) save.disabled = true;
  show(current);
  check();
  status();
  return () => { stopped = true; clearTimeout(poll); clearTimeout(timer); };
}

const base = (p) => (p || '').split('/').pop();
