// A small client of the gateway's REST API, for the `titan` CLI and any later tool that drives a gateway.
import type { FunctionInfo } from '../runtime/function-info.ts';

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

/** A secret as GET /secrets lists it: never its value. */
export interface SecretListing {
  name: string;
  updated_at: string;
}

/** One entry of a stream (a topic, the results, the DLQ): its id and its fields as stored. */
export type StreamEntry = Record<string, string> & { id: string };

export type PoolUpdate = Partial<{
  min: number;
  max: number;
  concurrency: number;
  idle_sec: number;
}>;

export interface InvokeResponse {
  /** the function's result, parsed */
  result: unknown;
  invocationId?: string;
  coldStart?: boolean;
}

/** One line of a function container's output (GET /functions/:name/logs, /invocations/:id/logs). */
export interface LogLineView {
  /** epoch ms */
  time: number;
  stream: 'stdout' | 'stderr';
  /** absent for output outside any invocation */
  invocationId?: string;
  /** the container's short id */
  container: string;
  text: string;
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

  constructor({
    url = DEFAULT_GATEWAY_URL,
    token,
    fetch = globalThis.fetch,
  }: TitanClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.token = token;
    this.fetch = fetch;
  }

  /** Uploads a function folder (a tar.gz, see deploy/pack.ts); resolves once the gateway deployed it. */
  async deploySource(
    name: string,
    archive: Uint8Array,
  ): Promise<{ deployed: boolean; function: FunctionInfo; files: number }> {
    return (
      await this.request('PUT', `/functions/${encodeURIComponent(name)}/source`, archive, [422])
    ).body as { deployed: boolean; function: FunctionInfo; files: number };
  }

  /** Removes a function's folder from the gateway's functions directory. */
  async removeFunction(name: string): Promise<void> {
    await this.request('DELETE', `/functions/${encodeURIComponent(name)}`);
  }

  async listFunctions(): Promise<FunctionInfo[]> {
    const { body } = await this.request('GET', '/functions');
    return (body as { functions: FunctionInfo[] }).functions;
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

  async setPool(name: string, update: PoolUpdate): Promise<FunctionInfo> {
    return (
      await this.request(
        'PUT',
        `/functions/${encodeURIComponent(name)}/pool`,
        JSON.stringify(update),
      )
    ).body as FunctionInfo;
  }

  async resetPool(name: string): Promise<FunctionInfo> {
    return (await this.request('DELETE', `/functions/${encodeURIComponent(name)}/pool`))
      .body as FunctionInfo;
  }

  /** Queue an invocation (`?async=true`); returns its id for `invocation()`. */
  async invokeAsync(name: string, body: string): Promise<string> {
    const res = await this.request(
      'POST',
      `/functions/${encodeURIComponent(name)}/invoke?async=true`,
      body,
    );
    return (res.body as { invocationId: string }).invocationId;
  }

  async invocation(id: string): Promise<unknown> {
    return (await this.request('GET', `/invocations/${encodeURIComponent(id)}`)).body;
  }

  /** `data` is JSON text. Returns the stream entry id. */
  async publish(topic: string, type: string, data: string): Promise<string> {
    const body = `{"type":${JSON.stringify(type)},"data":${data || 'null'}}`;
    return (
      (await this.request('POST', `/events/${encodeURIComponent(topic)}`, body)).body as {
        id: string;
      }
    ).id;
  }

  async dlqList(count = 100): Promise<Array<Record<string, string> & { id: string }>> {
    return (
      (await this.request('GET', `/dlq?count=${count}`)).body as {
        entries: Array<Record<string, string> & { id: string }>;
      }
    ).entries;
  }

  async dlqReplay(id: string): Promise<unknown> {
    return (await this.request('POST', `/dlq/${encodeURIComponent(id)}/replay`)).body;
  }

  /** Sets a secret to `value` (bytes, sent as they are); true when it was new. */
  async setSecret(name: string, value: Uint8Array): Promise<boolean> {
    return (
      (await this.request('PUT', `/secrets/${encodeURIComponent(name)}`, value)).body as {
        created: boolean;
      }
    ).created;
  }

  async listSecrets(): Promise<SecretListing[]> {
    return ((await this.request('GET', '/secrets')).body as { secrets: SecretListing[] }).secrets;
  }

  async deleteSecret(name: string): Promise<void> {
    await this.request('DELETE', `/secrets/${encodeURIComponent(name)}`);
  }

  /** A topic's newest `count` entries oldest first, or those after the entry id `after`. */
  async topicEntries(
    topic: string,
    q: { count?: number; after?: string } = {},
  ): Promise<StreamEntry[]> {
    return (
      (await this.request('GET', `/events/${encodeURIComponent(topic)}?${tailQuery(q)}`)).body as {
        entries: StreamEntry[];
      }
    ).entries;
  }

  /** The results stream's newest `count` entries oldest first, or those after `after`. */
  async results(q: { count?: number; after?: string } = {}): Promise<StreamEntry[]> {
    return (
      (await this.request('GET', `/results?${tailQuery(q)}`)).body as { entries: StreamEntry[] }
    ).entries;
  }

  /** A function's recent output, oldest first; with `tail`, only the last N lines. */
  async functionLogs(name: string, tail?: number): Promise<LogLineView[]> {
    const query = tail === undefined ? '' : `?tail=${tail}`;
    return (
      (await this.request('GET', `/functions/${encodeURIComponent(name)}/logs${query}`)).body as {
        lines: LogLineView[];
      }
    ).lines;
  }

  /** The lines one invocation wrote (they reach the gateway a few ms after its response). */
  async invocationLogs(id: string): Promise<{ function: string; lines: LogLineView[] }> {
    return (await this.request('GET', `/invocations/${encodeURIComponent(id)}/logs`)).body as {
      function: string;
      lines: LogLineView[];
    };
  }

  /**
   * Follow a function's output over server-sent events: the tail, then each new line as it comes.
   * Resolves when the gateway ends the stream or `signal` aborts.
   */
  async followLogs(
    name: string,
    onLine: (line: LogLineView) => void,
    opts: { tail?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const query = new URLSearchParams({
      follow: 'true',
      ...(opts.tail === undefined ? {} : { tail: String(opts.tail) }),
    });
    const res = await this.open(
      `/functions/${encodeURIComponent(name)}/logs?${query}`,
      opts.signal,
    );
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        // The gateway ends events with a blank line and lines with \n; `:` lines are keep-alive comments.
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const data = buffer
            .slice(0, end)
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).replace(/^ /, ''));
          buffer = buffer.slice(end + 2);
          if (data.length) onLine(JSON.parse(data.join('\n')) as LogLineView);
        }
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw err;
    }
  }

  /** GET a streamed response; failures are reported as request() reports them. */
  private async open(path: string, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await this.fetch(`${this.url}${path}`, { headers, signal });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new GatewayUnreachableError(
        this.url,
        cause?.code ?? cause?.message ?? (err as Error).message,
      );
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
  private async request(
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
      // undici reports every network failure as "fetch failed"; the reason is in the cause.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new GatewayUnreachableError(
        this.url,
        cause?.code ?? cause?.message ?? (err as Error).message,
      );
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

const tailQuery = (q: { count?: number; after?: string }): URLSearchParams =>
  new URLSearchParams({
    ...(q.count !== undefined ? { count: String(q.count) } : {}),
    ...(q.after !== undefined ? { after: q.after } : {}),
  });
