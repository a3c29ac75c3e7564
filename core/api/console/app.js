// The console's shell: sign-in, the API client, the page list and the
// router (#/page/arg). Each page is a module with render(root, ctx), which
// may return a function that stops it (its polling) when another page is
// shown. The API key lives in this tab's sessionStorage only: never in an
// address, a cookie or a log.
import { h, clear, toast, problemBox } from './ui.js';

// The API is served where the console is: /console's parent (a mount
// prefix such as /buyback/console works too).
const base = location.pathname.replace(/\/console\/?$/, '');
const keyName = 'recyclegate.apiKey';

export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// api calls the public API with the tenant's key. It answers the decoded
// JSON, and throws a ProblemError for an error answer.
export async function api(method, path, body, headers = {}) {
  const init = { method, headers: { Authorization: 'Bearer ' + session.key, ...headers } };
  if (body !== undefined) {
    init.headers['Content-Type'] = init.headers['Content-Type'] || 'application/json';
    init.body = typeof body === 'string' || body instanceof Blob ? body : JSON.stringify(body);
  }
  const resp = await fetch(base + path, init);
  const ct = resp.headers.get('Content-Type') || '';
  // JSON, text, or a file (a workbook) as a Blob.
  const data = ct.includes('json') ? await resp.json() : (ct.startsWith('text/') || !resp.ok) ? await resp.text() : await resp.blob();
  if (!resp.ok) {
    throw new ProblemError(resp.status, typeof data === 'object' ? data : { title: resp.statusText, detail: String(data) });
  }
  return data;
}

// stream is a fetch whose answer is read line by line (JSON Lines).
export async function stream(path, body, contentType, onLine) {
  const resp = await fetch(base + path, {
    method: 'POST', body, headers: { Authorization: 'Bearer ' + session.key, 'Content-Type': contentType },
  });
  if (!resp.ok) {
    const p = await resp.json().catch(() => ({ title: resp.statusText }));
    throw new ProblemError(resp.status, p);
  }
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (value) {
      buf += value;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line) onLine(JSON.parse(line));
      }
    }
    if (done) break;
  }
  if (buf.trim()) onLine(JSON.parse(buf));
}

export const session = { key: '', admin: false, providers: [] };

const pages = [
  { id: 'providers', title: 'Providers', load: () => import('./providers.js') },
  { id: 'playground', title: 'Quote playground', load: () => import('./playground.js') },
  { id: 'orders', title: 'Orders', load: () => import('./orders.js') },
  { id: 'batch', title: 'Batch', load: () => import('./batch.js') },
  { id: 'audit', title: 'Audit log', load: () => import('./audit.js') },
  { id: 'policies', title: 'Policies', admin: true, load: () => import('./policies.js') },
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let stop = null;

// signIn checks a key against the API: any authenticated call tells it is
// known; GET /v1/policies tells whether its tenant is an admin.
async function signIn(key) {
  session.key = key;
  const list = await api('GET', '/v1/providers');
  session.providers = list.providers || [];
  try {
    await api('GET', '/v1/policies');
    session.admin = true;
  } catch (e) {
    if (!(e instanceof ProblemError && e.status === 403)) throw e;
    session.admin = false;
  }
  sessionStorage.setItem(keyName, key);
}

function signOut() {
  sessionStorage.removeItem(keyName);
  session.key = '';
  session.admin = false;
  if (stop) stop();
  stop = null;
  location.hash = '';
  showSignIn();
}

function showSignIn(message) {
  // A page's request still in flight at sign-out comes back 401 and signs
  // out again: the form already shown stays, with what is typed in it.
  if (!message && !session.key && document.getElementById('api-key')) return;
  nav.hidden = true;
  clear(nav); // the signed-out tenant's pages go with it
  clear(who);
  clear(main);
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const status = h('div', { role: 'alert' });
  if (message) status.append(problemBox(message));
  const form = h('form', { class: 'card', style: 'max-width: 420px', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    h('p', { class: 'muted' }, 'With a tenant\'s API key (the sandbox\'s demo tenant: demo). It is kept in this tab only, until you sign out or close it.'),
    h('label', { for: 'api-key' }, 'API key', input),
    h('p', {}, h('button', { type: 'submit', id: 'sign-in' }, 'Sign in')),
    status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(status);
    try {
      await signIn(input.value.trim());
      input.value = '';
      start();
    } catch (e) {
      session.key = '';
      status.append(problemBox(e));
    }
  });
  main.append(form);
  input.focus();
}

function start() {
  clear(nav);
  for (const p of pages) {
    if (p.admin && !session.admin) continue;
    nav.append(h('a', { href: '#/' + p.id, id: 'nav-' + p.id }, p.title));
  }
  nav.hidden = false;
  clear(who);
  who.append(h('span', { class: 'pill', id: 'role' }, session.admin ? 'admin tenant' : 'tenant'),
    h('button', { type: 'button', class: 'secondary', id: 'sign-out', onclick: signOut }, 'Sign out'));
  if (!location.hash || location.hash === '#') location.hash = '#/providers';
  else route();
}

async function route() {
  if (!session.key) return;
  const [id, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const page = pages.find((p) => p.id === id && (!p.admin || session.admin)) || pages[0];
  for (const a of nav.querySelectorAll('a')) {
    if (a.id === 'nav-' + page.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (stop) stop();
  stop = null;
  clear(main);
  document.title = page.title + ' · recyclegate console';
  const mod = await page.load();
  const root = h('section', { 'aria-labelledby': 'page-title', 'data-page': page.id });
  main.append(root);
  try {
    stop = (await mod.render(root, { args: rest.map(decodeURIComponent) })) || null;
  } catch (e) {
    if (e instanceof ProblemError && e.status === 401) return signOut();
    root.append(problemBox(e));
  }
  main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', route);

const saved = sessionStorage.getItem(keyName);
if (saved) {
  signIn(saved).then(start, (e) => { sessionStorage.removeItem(keyName); showSignIn(e); });
} else {
  showSignIn();
}
export { toast };
