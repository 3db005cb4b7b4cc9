// One running function container: started through the engine, warm once its bootstrap answers a
// health check, then invoked over keep-alive HTTP on its unix socket.
// The request itself (size cap, time limit) is in container-request.ts.
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DIAL_IN_LIMITS, DialInAgent } from './dial-in.ts';
import type {
  ContainerEngine,
  ContainerLogLine,
  ContainerSpec,
  ExitInfo,
  LogFollow,
} from './engine/engine.ts';
import { SandboxError } from './errors.ts';
import {
  handlerLoaded,
  readInvokeReply,
  ROUTE,
  SOCKET_FILE,
  type InvokeReply,
} from './protocol.ts';
import { ResponseTooLargeError, send, type Reply } from './container-request.ts';

export { ResponseTooLargeError } from './container-request.ts';

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

export interface StartOptions {
  /** host directory for the gateway's socket, created here and mounted read-only in the container */
  socketDir: string;
  startupTimeoutMs: number;
  /** longest answer accepted from the container */
  maxResponseBytes: number;
  /** every line of the container's output, from its start (so a failed start's output too) */
  onLog?: (line: ContainerLogLine, containerId: string) => void;
  /** more host directories that belong to this container alone, removed with it (a stem cell's code) */
  ownDirs?: string[];
}

export class FunctionContainer {
  readonly exited: Promise<ExitInfo>;
  private readonly logs?: LogFollow;

  private constructor(
    readonly id: string,
    readonly name: string,
    private readonly engine: ContainerEngine,
    private readonly agent: DialInAgent,
    private readonly opts: StartOptions,
  ) {
    this.exited = engine.waitExit(id);
    // A call waiting for a connection from a container that is gone fails at once, not at its deadline.
    void this.exited.then((e) =>
      agent.close(new Error(`container exited with code ${e.exitCode}`)),
    );
    this.logs = opts.onLog && engine.followLogs(id, (line) => opts.onLog!(line, id));
  }

  /**
   * Listen, create and start a container and wait until its bootstrap dialed in and answered. A
   * container that fails to become ready is removed, never returned.
   */
  static async start(
    engine: ContainerEngine,
    spec: ContainerSpec,
    opts: StartOptions,
  ): Promise<FunctionContainer> {
    const socketPath = join(opts.socketDir, SOCKET_FILE);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new SandboxError(
        `socket path ${socketPath} is ${Buffer.byteLength(socketPath)} bytes, over the ${MAX_SOCKET_PATH}-byte limit; use a shorter state directory (TITAN_STATE_DIR)`,
      );
    }
    await mkdir(dirname(opts.socketDir), { recursive: true, mode: 0o700 }); // only the gateway reaches the sockets
    await mkdir(opts.socketDir, { mode: 0o755 }); // the container may look in, never write
    const agent = new DialInAgent(socketPath, DIAL_IN_LIMITS);
    let id: string;
    try {
      await agent.listen();
      id = await engine.run(spec);
    } catch (err) {
      agent.close(err as Error);
      await rm(opts.socketDir, { recursive: true, force: true });
      throw new SandboxError(
        `could not start a container for image ${spec.image}: ${(err as Error).message}`,
      );
    }
    const c = new FunctionContainer(id, spec.name, engine, agent, opts);
    try {
      await c.waitReady(opts.startupTimeoutMs);
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  /** Connections the container dialed beyond the limits (closed on arrival). */
  get refusedConnections(): number {
    return this.agent.refused;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const started = Date.now();
    let exit: ExitInfo | undefined;
    void this.exited.then((e) => (exit = e));
    const notReady = () =>
      new SandboxError(
        `container not ready after ${Date.now() - started} ms (limit ${timeoutMs} ms)`,
      );
    for (;;) {
      // Waits for the bootstrap to load the handler and dial in; fails at once when the container exits.
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0) throw notReady();
      const reply = await this.send('GET', ROUTE.health, undefined, {
        ms: left,
        cut: notReady,
      }).catch((err: Error) => err);
      if (reply instanceof SandboxError) throw reply;
      if (reply instanceof Error) {
        // Either the container exited (its exit is a moment behind the closed connection) or it
        // dropped the connection: look again after a beat.
        await Promise.race([this.exited, sleep(20)]);
        if (exit) {
          const logs = (await this.engine.logs(this.id, 20)).trim();
          throw new SandboxError(
            `container exited with code ${exit.exitCode} while starting${logs ? `: ${logs}` : ''}`,
          );
        }
        continue;
      }
      return loadOutcome(reply, 'its health check');
    }
  }

  /**
   * Load a function into this stem cell (its bootstrap runs with TITAN_STEM=1): `env` is the whole
   * environment the function's own container would have. Fails as a start would: function_invalid
   * when the handler does not load, a SandboxError when the container dies meanwhile (out of memory
   * while loading) or does not answer in time.
   */
  async specialize(
    env: Record<string, string>,
    sourceMaps: boolean,
    timeoutMs: number,
  ): Promise<void> {
    const started = Date.now();
    const late = () =>
      new SandboxError(
        `stem cell not specialized after ${Date.now() - started} ms (limit ${timeoutMs} ms)`,
      );
    const reply = await this.send('POST', ROUTE.specialize, JSON.stringify({ env, sourceMaps }), {
      ms: timeoutMs,
      cut: late,
    }).catch((err: Error) => err);
    if (reply instanceof SandboxError) throw reply;
    if (reply instanceof Error) {
      const exit = await Promise.race([this.exited, sleep(3000, undefined, { ref: false })]);
      const logs = exit ? (await this.engine.logs(this.id, 20)).trim() : '';
      const oom = exit?.oomKilled ? ' (out of memory)' : '';
      throw new SandboxError(
        exit
          ? `container exited with code ${exit.exitCode}${oom} while starting${logs ? `: ${logs}` : ''}`
          : `lost the connection to a stem cell while specializing it: ${reply.message}`,
      );
    }
    loadOutcome(reply, 'its specialize request');
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
      reply = await this.send(
        'POST',
        ROUTE.invoke,
        body,
        limit && { ms: limit.ms, cut: () => (cut = limit.error()) },
      );
    } catch (err) {
      if (cut) throw cut;
      if (err instanceof ResponseTooLargeError) throw err;
      throw new ConnectionLostError(err as Error);
    }
    return readInvokeReply(reply.headers, reply.body);
  }

  private send(
    method: string,
    path: string,
    body?: string,
    limit?: { ms: number; cut: () => Error },
  ): Promise<Reply> {
    return send(this.agent, this.opts.maxResponseBytes, method, path, body, limit);
  }

  /** Kill and remove; safe to call more than once. */
  async stop(): Promise<void> {
    this.agent.close(new Error('container stopped'));
    try {
      await this.engine.remove(this.id);
    } finally {
      this.stopLogs();
      await Promise.all(
        [this.opts.socketDir, ...(this.opts.ownDirs ?? [])].map((d) =>
          rm(d, { recursive: true, force: true }),
        ),
      );
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

/** A bootstrap's answer to /healthz or /specialize: loaded, function_invalid, or a sandbox error. */
function loadOutcome(reply: Reply, what: string): void {
  if (!handlerLoaded(reply.status, reply.body))
    throw new SandboxError(`container answered ${what} with status ${reply.status}`);
}
