// Every call the dashboard makes: an ordinary API call, same origin, with the admin token as a
// bearer when one was given and the dashboard key (gateway/ui/key.ts) so that management routes
// take it for the admin's client. The token lives in sessionStorage (this tab only), never in a
// URL or a cookie.

const TOKEN_KEY = 'titan.admin-token';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export const session = {
  /** the key the gateway wrote into this page when the user opened it directly; absent otherwise */
  key: document.querySelector<HTMLMetaElement>('meta[name="titan-dashboard-key"]')?.content || undefined,
  get token(): string | undefined {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  },
  set token(value: string | undefined) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** Listeners told when a call answers 401: the token is missing or wrong. */
export const onUnauthorized = new Set<(e: ApiError) => void>();

export function headers(extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { ...extra };
  if (session.token) out.authorization = `Bearer ${session.token}`;
  if (session.key) out['x-titan-dashboard'] = session.key;
  return out;
}

/** Turn a non-2xx answer into an ApiError with the gateway's code and message. */
export async function failure(res: Response): Promise<ApiError> {
  let code = 'http_error';
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // not the gateway's JSON error: keep the status line
  }
  const err = new ApiError(res.status, code, message);
  if (res.status === 401) for (const f of onUnauthorized) f(err);
  return err;
}

export async function call(method: string, path: string, body?: string, signal?: AbortSignal): Promise<Response> {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body,
    signal,
    cache: 'no-store',
    credentials: 'omit',
  });
  if (!res.ok) throw await failure(res);
  return res;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await (await call('GET', path, undefined, signal)).json()) as T;
}

export async function sendJson<T>(method: string, path: string, value?: unknown): Promise<T> {
  return (await (await call(method, path, value === undefined ? undefined : JSON.stringify(value))).json()) as T;
}

/** A path with each part URI-encoded. */
export const path = (...parts: string[]): string => `/${parts.map(encodeURIComponent).join('/')}`;
