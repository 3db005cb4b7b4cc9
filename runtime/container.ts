// One running function container: started through the engine, warm once its bootstrap answers a
// health check, then invoked over keep-alive HTTP on its unix socket.
import { Agent, request } from 'node:http';
import { mkdir, rm, chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerEngine, ContainerLogLine, ContainerSpec, ExitInfo, LogFollow } from './engine/engine.ts';
import { SandboxError, TitanError } from './errors.ts';
import { SOCKET_FILE } from './sandbox.ts';

export interface InvokeReply {
  outcome: 'ok' | 'error';
  /** body carries `{ result, emits }` rather than the bare result */
  envelope: boolean;
  body: string;
}

/** A time limit on one call: past `ms` the request is cut and the call rejects with `error()`. */
export interface CallLimit {
  ms: number;
  error: () => Error;
}

/** The socket broke mid-call: the container died or was killed under the invocation. */
export class ConnectionLostError extends Error {
  constructor(cause: Error) {
    super(`connection to container lost: ${cause.message}`, { cause });
  }
}

// Linux caps unix socket paths at 107 bytes.
const MAX_SOCKET_PATH = 107;
/** After removal the engine ends a log stream by itself; one that lingers past this is cut. */
const LOG_DRAIN_MS = 2000;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class FunctionContainer {
  readonly exited: Promise<ExitInfo>;
  private readonly agent: Agent;
  private readonly socketPath: string;
  private readonly logs?: LogFollow;

  private constructor(
    readonly id: string,
    readonly name: string,
    private readonly engine: ContainerEngine,
    private readonly socketDir: string,
    concurrency: number,
    onLog?: (line: ContainerLogLine, containerId: string) => void,
  ) {
    this.socketPath = join(socketDir, SOCKET_FILE);
    // One agent per container; sockets stay open between invocations (no per-call connect). The pool
    // bounds in-flight calls per container, and concurrency can change live, so the agent does not.
    this.agent = new Agent({ keepAlive: true, maxFreeSockets: Math.max(concurrency, 256) });
    this.exited = engine.waitExit(id);
    this.logs = onLog && engine.followLogs(id, (line) => onLog(line, id));
  }

  /**
   * Create and start a container and wait until its bootstrap answers. A container that fails to
   * become ready is removed, never returned.
   */
  static async start(
    engine: ContainerEngine,
    spec: ContainerSpec,
    opts: {
      socketDir: string; concurrency: number; startupTimeoutMs: number; uid?: number;
      /** every line of the container's output, from its start (so a failed start's output too) */
      onLog?: (line: ContainerLogLine, containerId: string) => void;
    },
  ): Promise<FunctionContainer> {
    const socketPath = join(opts.socketDir, SOCKET_FILE);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new SandboxError(`socket path ${socketPath} is ${Buffer.byteLength(socketPath)} bytes, over the ${MAX_SOCKET_PATH}-byte limit; use a shorter state directory (TITAN_STATE_DIR)`);
    }
    await mkdir(dirname(opts.socketDir), { recursive: true, mode: 0o700 }); // only the gateway reaches the sockets
    await mkdir(opts.socketDir, { recursive: true });
    await chmod(opts.socketDir, 0o777); // the container's non-root user creates the socket here
    let id: string;
    try {
      id = await engine.run(spec);
    } catch (err) {
      await rm(opts.socketDir, { recursive: true, force: true });
      throw new SandboxError(`could not start a container for image ${spec.image}: ${(err as Error).message}`);
    }
    const c = new FunctionContainer(id, spec.name, engine, opts.socketDir, opts.concurrency, opts.onLog);
    try {
      await c.waitReady(opts.startupTimeoutMs);
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const started = Date.now();
    let exit: ExitInfo | undefined;
    void this.exited.then((e) => (exit = e));
    for (let delay = 2; ; delay = Math.min(delay * 2, 25)) {
      if (exit) {
        const logs = (await this.engine.logs(this.id, 20)).trim();
        throw new SandboxError(`container exited with code ${exit.exitCode} while starting${logs ? `: ${logs}` : ''}`);
      }
      const reply = await this.send('GET', '/healthz').catch(() => undefined);
      if (reply?.status === 200) return;
      if (reply?.status === 500) {
        const { error } = JSON.parse(reply.body) as { error: { message: string } };
        throw new TitanError('function_invalid', `handler failed to load: ${error.message}`);
      }
      const waited = Date.now() - started;
      if (waited > timeoutMs) throw new SandboxError(`container not ready after ${waited} ms (limit ${timeoutMs} ms)`);
      await sleep(delay);
    }
  }

  /**
   * Send one invocation. Rejects with ConnectionLostError when the socket breaks, or with
   * `limit.error()` once `limit.ms` passed (the request is cut). A plain timer rather than an
   * AbortSignal: Node's http client hangs several listeners on a signal for every request, a
   * measurable share of a warm call (bench/README.md).
   */
  async invoke(body: string, limit?: CallLimit): Promise<InvokeReply> {
    let cut: Error | undefined;
    let reply: Reply;
    try {
      reply = await this.send('POST', '/invoke', body, limit && { ms: limit.ms, cut: () => (cut = limit.error()) });
    } catch (err) {
      if (cut) throw cut;
      throw new ConnectionLostError(err as Error);
    }
    return {
      outcome: reply.headers['x-titan-outcome'] === 'ok' ? 'ok' : 'error',
      envelope: reply.headers['x-titan-envelope'] === '1',
      body: reply.body,
    };
  }

  private send(method: string, path: string, body?: string, limit?: { ms: number; cut: () => Error }): Promise<Reply> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      const req = request(
        {
          socketPath: this.socketPath,
          agent: this.agent,
          method,
          path,
          headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.setEncoding('utf8');
          let text = '';
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
          });
          res.on('error', fail);
        },
      );
      if (limit) timer = setTimeout(() => req.destroy(limit.cut()), limit.ms);
      req.on('error', fail);
      req.end(body);
    });
  }

  /** Kill and remove; safe to call more than once. */
  async stop(): Promise<void> {
    this.agent.destroy();
    try {
      await this.engine.remove(this.id);
    } finally {
      this.stopLogs();
      await rm(this.socketDir, { recursive: true, force: true });
    }
  }

  /** Not cut at once: the last lines (a crash, a timeout's victim) are still on their way. */
  private stopLogs(): void {
    const logs = this.logs;
    if (!logs) return;
    const timer = setTimeout(() => logs.stop(), LOG_DRAIN_MS).unref();
    void logs.ended.then(() => clearTimeout(timer));
  }
}
