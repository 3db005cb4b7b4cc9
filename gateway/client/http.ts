// How TitanClient talks HTTP to the gateway: URL, bearer token, JSON in and out, errors as ApiError.
import { ApiError, unreachable } from './errors.ts';

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';

export interface TitanClientOptions {
  /** default: DEFAULT_GATEWAY_URL */
  url?: string;
  /** sent as `Authorization: Bearer <token>` when set */
  token?: string;
  /** injectable for tests; default: the global fetch */
  fetch?: typeof fetch;
}

/** The transport under TitanClient's calls; the calls themselves are in gateway/client.ts. */
export class GatewayHttp {
  readonly url: string;
  private readonly token?: string;
  private readonly fetch: typeof fetch;

  constructor({
    url = DEFAULT_GATEWAY_URL,
    token,
    fetch = globalThis.fetch,
  }: TitanClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.token = token;
    this.fetch = fetch;
  }

  /** GET a streamed response; failures are reported as request() reports them. */
  protected async open(path: string, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await this.fetch(`${this.url}${path}`, { headers, signal });
    } catch (err) {
      throw unreachable(this.url, err);
    }
    if (res.ok) return res;
    const text = await res.text();
    let e: { code?: string; message?: string } | undefined;
    try {
      e = (JSON.parse(text) as { error?: typeof e }).error;
    } catch {
      // not JSON: reported with the text below
    }
    throw new ApiError(
      res.status,
      e?.code ?? `http_${res.status}`,
      e?.message ?? (text.slice(0, 200) || res.statusText),
    );
  }

  /** `body`: JSON text, or bytes sent as they are (a secret's value). */
  /** `accept`: statuses besides 2xx whose JSON body is an answer, not an error (a 422 deploy outcome). */
  protected async request(
    method: string,
    path: string,
    body?: string | Uint8Array,
    accept: number[] = [],
  ): Promise<{ body: unknown; headers: Headers }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined)
      headers['content-type'] =
        typeof body === 'string' ? 'application/json' : 'application/octet-stream';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await this.fetch(`${this.url}${path}`, {
        method,
        headers,
        body: body as BodyInit | undefined,
      });
    } catch (err) {
      throw unreachable(this.url, err);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      throw new ApiError(
        res.status,
        `http_${res.status}`,
        `the gateway answered with something other than JSON: ${text.slice(0, 200)}`,
      );
    }
    if (!res.ok && !accept.includes(res.status)) {
      const e = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiError(
        res.status,
        e?.code ?? `http_${res.status}`,
        e?.message ?? (text.slice(0, 200) || res.statusText),
      );
    }
    return { body: parsed, headers: res.headers };
  }
}
