// Every call the dashboard makes: an ordinary API call, same origin, with the admin token as a
// bearer when one was given and the dashboard key (gateway/ui/key.ts) so that management routes
// take it for the admin's client. The token lives in sessionStorage (this tab only), sealed with
// the pad only a directly opened /ui holds; never in a URL or a cookie.

const TOKEN_KEY = 'titan.admin-token.sealed';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const meta = (name: string): string | undefined =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content || undefined;
const fromBase64url = (s: string): Uint8Array =>
  Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const toBase64 = (b: Uint8Array): string => btoa(String.fromCharCode(...b));
const xor = (data: Uint8Array, pad: Uint8Array): Uint8Array => data.map((x, i) => x ^ pad[i]!);

/** The pad the gateway gave this page (gateway/ui/key.ts): the token is stored XORed with it, never as it is. */
const seal = meta('titan-dashboard-seal');
const pad = seal ? fromBase64url(seal) : new Uint8Array();
let inMemory: string | undefined;

export const session = {
  /** the key the gateway wrote into this page when the user opened it directly; absent otherwise */
  key: meta('titan-dashboard-key'),
  get token(): string | undefined {
    if (inMemory !== undefined) return inMemory;
    const stored = sessionStorage.getItem(TOKEN_KEY);
    if (!stored || !pad.length) return undefined;
    try {
      const bytes = Uint8Array.from(atob(stored), (c) => c.charCodeAt(0));
      if (bytes.length > pad.length) return undefined;
      inMemory = new TextDecoder('utf-8', { fatal: true }).decode(xor(bytes, pad));
      return inMemory;
    } catch {
      return undefined; // sealed by another gateway process: ask again
    }
  },
  set token(value: string | undefined) {
    inMemory = value || undefined;
    sessionStorage.removeItem(TOKEN_KEY);
    const bytes = new TextEncoder().encode(value ?? '');
    // Only sealed, and only what the pad covers: a longer token lasts as long as this page.
    if (value && bytes.length <= pad.length)
      sessionStorage.setItem(TOKEN_KEY, toBase64(xor(bytes, pad)));
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

export async function call(
  method: string,
  path: string,
  body?: string,
  signal?: AbortSignal,
): Promise<Response> {
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
  return (await (
    await call(method, path, value === undefined ? undefined : JSON.stringify(value))
  ).json()) as T;
}

/** A path with each part URI-encoded. */
export const path = (...parts: string[]): string => `/${parts.map(encodeURIComponent).join('/')}`;
