// The console's shell: sign-in, navigation and a hash router (#/runs, #/runs/<id>, #/history,
// #/costs, #/divergence, #/estimators, #/failures, #/export), so it is static files only and every page can be linked.
import './style.css';
import { AosError, api, clientFor, session, type Whoami, whenUnauthenticated } from './api.ts';
import { errorState, field, h } from './dom.ts';
import { emergencyBanner } from './emergency-banner.ts';
import type { Page } from './page.ts';

const root = document.getElementById('app')!;
const nav: [path: string, label: string][] = [
  ['runs', 'Runs'],
  ['history', 'Status history'],
  ['costs', 'Costs'],
  ['divergence', 'Divergence'],
  ['estimators', 'Estimators'],
  ['failures', 'Failures'],
  ['export', 'Export'],
];
// Each page is a chunk of its own, loaded when first shown: the sign-in and the shell do not
// wait for every page's code (and the charts').
const pages: Record<string, () => Promise<Page>> = {
  runs: () => import('./pages/runs.ts').then((m) => m.runsPage),
  history: () => import('./pages/history.ts').then((m) => m.historyPage),
  failures: () => import('./pages/failures.ts').then((m) => m.failuresPage),
  costs: () => import('./pages/costs.ts').then((m) => m.costsPage),
  divergence: () => import('./pages/divergence.ts').then((m) => m.divergencePage),
  estimators: () => import('./pages/estimators.ts').then((m) => m.estimatorsPage),
  export: () => import('./pages/export.ts').then((m) => m.exportPage),
};
const runDetailPage = () => import('./pages/run-detail.ts').then((m) => m.runDetailPage);

let me: Whoami | null = null;
let cleanup: (() => void) | undefined;
/** Counts routings: a page whose code arrives after another routing began is not shown. */
let routing = 0;
/** The emergency stop's banner of the page shown (it refreshes itself until replaced). */
let banner: ReturnType<typeof emergencyBanner> | undefined;

function signIn(message?: string) {
  cleanup?.();
  cleanup = undefined;
  banner?.stop();
  banner = undefined;
  me = null;
  const key = h('input', {
    type: 'password',
    name: 'key',
    autocomplete: 'off',
    required: true,
    spellcheck: 'false',
  });
  const status = h('div', { 'aria-live': 'assertive' }, message && errorState(message));
  const form = h(
    'form',
    { class: 'signin card', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'AOS console'),
    h(
      'p',
      {},
      'Sign in with an API key. It stays in this tab (session storage) and is sent only to this server.',
    ),
    field('API key', key),
    h('button', { type: 'submit' }, 'Sign in'),
    status,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const candidate = key.value.trim();
    try {
      me = await clientFor(candidate).whoami();
      session.save(candidate);
      if (!location.hash || location.hash === '#/') location.hash = '#/runs';
      void route();
    } catch (error) {
      const text =
        error instanceof AosError && error.status === 401
          ? 'That key is unknown or revoked.'
          : error instanceof AosError && error.status === 403
            ? 'That key cannot read runs (a system key manages keys only): use a tenant key.'
            : error;
      status.replaceChildren(errorState(text));
      key.focus();
    }
  });
  root.replaceChildren(h('main', { id: 'main', class: 'narrow', tabindex: '-1' }, form));
  key.focus();
}

function shell(current: string, title: string): HTMLElement {
  banner?.stop();
  banner = emergencyBanner();
  const main = h('main', { id: 'main', tabindex: '-1' }, banner.element, h('h1', {}, title));
  root.replaceChildren(
    h(
      'header',
      { class: 'top' },
      h('a', { class: 'brand', href: '#/runs' }, 'AOS'),
      h(
        'nav',
        { 'aria-label': 'Pages' },
        h(
          'ul',
          {},
          ...nav.map(([path, label]) =>
            h(
              'li',
              {},
              h('a', { href: `#/${path}`, 'aria-current': path === current ? 'page' : undefined }, label),
            ),
          ),
        ),
      ),
      h(
        'div',
        { class: 'who' },
        h('span', {}, `${me!.tenantId} · ${me!.role}`),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary small',
            onclick: () => {
              session.clear();
              signIn();
            },
          },
          'Sign out',
        ),
      ),
    ),
    main,
  );
  return main;
}

async function route() {
  if (!me) return;
  const turn = ++routing;
  cleanup?.();
  cleanup = undefined;
  const [path = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [name = 'runs', id] = path.split('/');
  const load = name === 'runs' && id ? runDetailPage : pages[name];
  if (!load) {
    location.hash = '#/runs';
    return;
  }
  let page: Page;
  try {
    page = await load();
  } catch (error) {
    // A chunk that does not load (the server was upgraded meanwhile): say so where the page would be.
    if (turn === routing && me) shell(name, 'Console').append(errorState(error));
    return;
  }
  if (turn !== routing || !me) return;
  document.title = `${page.title} · AOS console`;
  // The run detail is a page of the runs' section.
  const main = shell(name, page.title);
  const params = new URLSearchParams(search);
  cleanup = page.render(main, {
    me,
    id: id ? decodeURIComponent(id) : undefined,
    params,
    setParams(next) {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(next)) if (value) query.set(key, value);
      const text = query.toString();
      const target = `#/${path}${text ? `?${text}` : ''}`;
      // The same URL fires no hashchange: apply (reload) anyway.
      if (location.hash === target) void route();
      else location.hash = target;
    },
    may: (permission) => me!.permissions.includes(permission),
  });
  // Move focus to the new page's content, so keyboard and screen-reader users land there.
  main.focus({ preventScroll: true });
}

whenUnauthenticated(() => {
  session.clear();
  signIn('The key stopped working (revoked or unknown); sign in again.');
});
window.addEventListener('hashchange', route);
// The skip link focuses the content; following its #main would leave the page's route.
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault();
  document.getElementById('main')?.focus();
});

async function start() {
  const key = session.key();
  if (!key) return signIn();
  try {
    me = await api.whoami();
    if (!location.hash) location.hash = '#/runs';
    void route();
  } catch (error) {
    if (!(error instanceof AosError && error.status === 401)) signIn(String((error as Error).message));
  }
}
void start();
