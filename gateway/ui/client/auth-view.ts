// The token form: shown when the gateway answers 401. The token is kept in sessionStorage for this
// tab (never in a URL or a cookie) and checked with one ordinary management call before it is kept.
import { ApiError, call, session } from './api.ts';
import { h, replace } from './dom.ts';

/**
 * A management route that changes nothing: 404 once the token is right, 401 when it is wrong or
 * missing, 403 when this page holds no dashboard key.
 */
const PROBE = '/invocations/00000000-0000-0000-0000-000000000000/logs';

export type Access = 'admin' | 'token_needed' | 'no_key';

export async function checkAccess(): Promise<Access> {
  try {
    await call('GET', PROBE);
    return 'admin';
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 404) return 'admin';
    if (err.status === 401) return 'token_needed';
    if (err.status === 403) return 'no_key';
    throw err;
  }
}

/** Ask for the token; resolves once a right one is stored. */
export function askToken(main: HTMLElement, reason?: string): Promise<void> {
  return new Promise((resolve) => {
    const input = h('input', {
      id: 'token',
      name: 'token',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
      'aria-describedby': 'token-help token-error',
    });
    const error = h('p', { id: 'token-error', class: 'error', role: 'alert' }, reason ?? '');
    const button = h('button', { type: 'submit' }, 'Sign in');
    const form = h(
      'form',
      {
        class: 'card narrow',
        'aria-labelledby': 'token-title',
        onsubmit: async (e: Event) => {
          e.preventDefault();
          button.disabled = true;
          error.textContent = '';
          session.token = input.value.trim();
          try {
            const access = await checkAccess();
            if (access === 'admin') return resolve();
            session.token = undefined;
            error.textContent =
              access === 'token_needed'
                ? 'The gateway refused this token.'
                : 'This page cannot manage the gateway (see above).';
          } catch (err) {
            session.token = undefined;
            error.textContent = `Could not check the token: ${(err as Error).message}`;
          } finally {
            button.disabled = false;
          }
          input.focus();
          input.select();
        },
      },
      h('h2', { id: 'token-title' }, 'Admin token'),
      h(
        'p',
        { id: 'token-help' },
        'This gateway has an admin token (TITAN_ADMIN_TOKEN). It is kept for this tab only.',
      ),
      h('label', { for: 'token' }, 'Token'),
      input,
      button,
      error,
    );
    replace(main, form);
    input.focus();
  });
}
