// A small client of the gateway's REST API, for the `titan` CLI and any later tool that drives a gateway.

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';

/** The gateway answered with an error body `{ error: { code, message } }` (or something unexpected). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** Nothing answered at the URL: the gateway is not running there. */
export class GatewayUnreachableError extends Error {
  readonly url: string;
  constructor(url: string, reason: string) {
    super(
      reason === 'ECONNREFUSED'
        ? `no gateway at ${url} (start one with \`titan serve\` or \`npm start\`)`
        : `cannot reach a gateway at ${url} (${reason}); start one with \`titan serve\` or set TITAN_URL`,
    );
    this.name = 'GatewayUnreachableError';
    this.url = url;
  }
}

export interface FunctionListing {
  name: string;
  version: string;
  runtime: string;
  status: 'ready' | 'deploying' | 'invalid';
  error?: string;
  triggers: Array<{ topic: string; event_type?: string }>;
  pool: { min: number; max: number; concurrency: number; idle_sec?: number; warm: number; busy: number; starting: number; queued?: number };
  stats?: { invocations: number; cold_starts: number; wait_p50_ms: number; wait_p99_ms: number };
  pool_overridden?: boolean;
}

export type PoolUpdate = Partial<{ min: number; max: number; concurrency: number; idle_sec: number }>;

export interface InvokeResponse {
  /** the function's result, parsed */
  result: unknown;
  invocationId?: string;
  coldStart?: boolean;
}

export interface TitanClientOptions {
  /** default: DEFAULT_GATEWAY_URL */
  url?: string;
  /** sent as `Authorization: Bearer <token>` when set */
  token?: string;
  /** injectable for tests; default: the global fetch */
  fetch?: typeof fetch;
}

export class TitanClient {
  readonly url: string;
  private readonly token?: string;
  private readonly fetch: typeof fetch;

  constructor({ url = DEFAULT_GATEWAY_URL, token, fetch = globalThis.fetch }: TitanClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.token = token;
    this.fetch = fetch;
  }

  async listFunctions(): Promise<FunctionListing[]> {
    const { body } = await this.request('GET', '/functions');
    return (body as { functions: FunctionListing[] }).functions;
  }

  /** `body` is JSON text, passed through unchanged (empty means no event). */
  async invoke(name: string, body: string): Promise<InvokeResponse> {
    const res = await this.request('POST', `/functions/${encodeURIComponent(name)}/invoke`, body);
    const cold = res.headers.get('x-cold-start');
    return {
      result: res.body,
      invocationId: res.headers.get('x-invocation-id') ?? undefined,
      coldStart: cold === null ? undefined : cold === 'true',
    };
  }

  async setPool(name: string, update: PoolUpdate): Promise<FunctionListing> {
    return (await this.request('PUT', `/functions/${encodeURIComponent(name)}/pool`, JSON.stringify(update))).body as FunctionListing;
  }

  async resetPool(name: string): Promise<FunctionListing> {
    return (await this.request('DELETE', `/functions/${encodeURIComponent(name)}/pool`)).body as FunctionListing;
  }

  /** Queue an invocation (`?async=true`); returns its id for `invocation()`. */
  async invokeAsync(name: string, body: string): Promise<string> {
    const res = await this.request('POST', `/functions/${encodeURIComponent(name)}/invoke?async=true`, body);
    return (res.body as { invocationId: string }).invocationId;
  }

  async invocation(id: string): Promise<unknown> {
    return (await this.request('GET', `/invocations/${encodeURIComponent(id)}`)).body;
  }

  /** `data` is JSON text. Returns the stream entry id. */
  async publish(topic: string, type: string, data: string): Promise<string> {
    const body = `{"type":${JSON.stringify(type)},"data":${data || 'null'}}`;
    return ((await this.request('POST', `/events/${encodeURIComponent(topic)}`, body)).body as { id: string }).id;
  }

  async dlqList(count = 100): Promise<Array<Record<string, string> & { id: string }>> {
    return ((await this.request('GET', `/dlq?count=${count}`)).body as { entries: Array<Record<string, string> & { id: string }> }).entries;
  }

  async dlqReplay(id: string): Promise<unknown> {
    return (await this.request('POST', `/dlq/${encodeURIComponent(id)}/replay`)).body;
  }

  private async request(method: string, path: string, body?: string): Promise<{ body: unknown; headers: Headers }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await this.fetch(`${this.url}${path}`, { method, headers, body });
    } catch (err) {
      // undici reports every network failure as "fetch failed"; the reason is in the cause.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new GatewayUnreachableError(this.url, cause?.code ?? cause?.message ?? (err as Error).message);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      throw new ApiError(res.status, `http_${res.status}`, `the gateway answered with something other than JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? (text.slice(0, 200) || res.statusText));
    }
    return { body: parsed, headers: res.headers };
  }
}
