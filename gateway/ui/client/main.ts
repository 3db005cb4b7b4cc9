// The dashboard's entry: checks what this page may do (token, dashboard key), then routes
// #/ (functions), #/fn/<name> and #/events to their views. Bundled by gateway/ui/bundle.ts.
import { ApiError, onUnauthorized, session } from './api.ts';
import { askToken, checkAccess } from './auth-view.ts';
import { announce, h, replace } from './dom.ts';
import { eventsView } from './events-view.ts';
import { functionView } from './function-view.ts';
import { functionsView } from './functions-view.ts';
import type { View } from './view.ts';

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const whoami = document.getElementById('whoami')!;
const errorLine = h('p', { class: 'error', id: 'error', role: 'alert', hidden: true });
let current: { stop(): void } | undefined;
let signingIn = false;

// A window name set by a page of this origin that ran in this tab before must not let it find us.
window.name = '';

function route(): { view: View; params: string[]; section: string } {
  const parts = location.hash
    .replace(/^#\/?/, '')
    .split('/')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return '';
      }
    });
  if (parts[0] === 'fn' && parts[1])
    return { view: functionView, params: [parts[1]], section: 'functions' };
  if (parts[0] === 'events') return { view: eventsView, params: [], section: 'events' };
  return { view: functionsView, params: [], section: 'functions' };
}

function showError(err: unknown): void {
  if (err instanceof ApiError && err.status === 401) return; // the token form takes over
  errorLine.hidden = false;
  errorLine.textContent =
    err instanceof ApiError
      ? `${err.code}: ${err.message}`
      : `The gateway did not answer: ${(err as Error).message}`;
}

function render(): void {
  if (signingIn) return;
  current?.stop();
  errorLine.hidden = true;
  const { view, params, section } = route();
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const host = h('div');
  replace(main, errorLine, host);
  current = view(host, showError, ...params);
}

async function signIn(reason?: string): Promise<void> {
  if (signingIn) return;
  signingIn = true;
  current?.stop();
  current = undefined;
  await askToken(main, reason);
  signingIn = false;
  announce('Signed in.');
  showWho('admin');
  render();
}

function showWho(access: 'admin' | 'no_key'): void {
  const signOut = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: () => {
        session.token = undefined;
        void start();
      },
    },
    'Forget token',
  );
  replace(
    whoami,
    access === 'no_key' ? h('span', { class: 'warn' }, 'Read-only') : session.token ? signOut : '',
  );
}

async function start(): Promise<void> {
  replace(
    nav,
    h('a', { href: '#/', 'data-section': 'functions' }, 'Functions'),
    h('a', { href: '#/events', 'data-section': 'events' }, 'Events'),
  );
  let access: Awaited<ReturnType<typeof checkAccess>>;
  try {
    access = await checkAccess();
  } catch (err) {
    replace(main, errorLine);
    return showError(err);
  }
  if (access === 'token_needed') return signIn();
  showWho(access);
  if (access === 'no_key') {
    main.before(
      h(
        'p',
        { class: 'banner', role: 'note' },
        'Read-only: this page was not opened directly, so it may not manage the gateway (logs, pools, the DLQ). Type its address or use a bookmark.',
      ),
    );
  }
  render();
}

onUnauthorized.add((err) => {
  session.token = undefined;
  void signIn(err.message === 'invalid token' ? 'The gateway refused this token.' : undefined);
});
window.addEventListener('hashchange', render);
document.querySelector('.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
void start();
