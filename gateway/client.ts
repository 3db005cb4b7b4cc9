// A small client of the gateway's REST API, for the `titan` CLI and any later tool that drives a gateway.
// Its transport is client/http.ts; errors and shapes are client/errors.ts and client/types.ts.
import type { FunctionInfo } from '../runtime/function-info.ts';
import { GatewayHttp } from './client/http.ts';
import { readEvents } from './client/sse.ts';
import type {
  InvokeResponse,
  LogLineView,
  PoolUpdate,
  SecretListing,
  StreamEntry,
} from './client/types.ts';

export { ApiError, GatewayUnreachableError } from './client/errors.ts';
export { DEFAULT_GATEWAY_URL, type TitanClientOptions } from './client/http.ts';
export type * from './client/types.ts';

export class TitanClient extends GatewayHttp {
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
    try {
      await readEvents(res.body!, (data) => onLine(JSON.parse(data) as LogLineView));
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw err;
    }
  }
}

const tailQuery = (q: { count?: number; after?: string }): URLSearchParams =>
  new URLSearchParams({
    ...(q.count !== undefined ? { count: String(q.count) } : {}),
    ...(q.after !== undefined ? { after: q.after } : {}),
  });
