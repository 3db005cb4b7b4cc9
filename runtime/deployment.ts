// One deployed version of a function: its spec, its warm pool of containers, and how a single
// invocation is carried out on them (deadline, crash and out-of-memory handling).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeBuild } from './build.ts';
import { removeSecretCopies } from './secrets.ts';
import { ConnectionLostError, FunctionContainer, ResponseTooLargeError } from './container.ts';
import type { ContainerEngine, ExitInfo } from './engine/engine.ts';
import {
  FunctionError,
  FunctionRejectedError,
  OutOfMemoryError,
  SandboxError,
  TimeoutError,
  TitanError,
} from './errors.ts';
import { LatencyHistogram } from './latency-histogram.ts';
import type { LogStore } from './logs.ts';
import { verifyMounts } from './permissions.ts';
import { Pool, type PoolEvent, type StartReason } from './pool.ts';
import { openEnvelope, readErrorBody, type Emit, type InvokeReply } from './protocol.ts';
import { containerSpecFor, type SandboxLimits } from './sandbox.ts';
import type { FunctionSpec, PoolSettings } from './spec.ts';
import type { StemEvent } from './stem-cells/cold-start-route.ts';
import { ColdStarts } from './stem-cells/cold-starts.ts';
import type { StemCells } from './stem-cells/stem-cells.ts';

export interface DeploymentOptions {
  spec: FunctionSpec;
  engine: ContainerEngine;
  limits: SandboxLimits;
  scope: string;
  /** host directory under which each container gets its socket directory */
  runDir: string;
  startupTimeoutMs: number;
  queueMax: number;
  queueTimeoutMs: number;
  onPoolEvent?: (fn: string, e: PoolEvent | StemEvent) => void;
  /** live settings in force (a persisted override); default: the manifest's */
  poolSettings?: PoolSettings;
  /** where the containers' output goes; none: not captured */
  logs?: LogStore;
  /** cells to specialize on a cold start, when the function's can be (cold-start-route.ts) */
  stemCells?: StemCells;
}

export interface InvocationContext {
  invocationId: string;
  deadline: number;
  trigger: Record<string, unknown>;
}

export interface InvocationResult {
  /** the handler's return value as JSON text, passed through without re-serialising */
  resultJson: string;
  emits: Emit[];
  cold: boolean;
  waitMs: number;
}

export type DeploymentStatus = 'deploying' | 'ready' | 'invalid';

export class Deployment {
  readonly pool: Pool<FunctionContainer>;
  /** time spent waiting for a container, per invocation, since deploy */
  readonly waits = new LatencyHistogram();
  coldStarts = 0;
  /** how containers for waiting calls are started (a stem cell or one of its own), and by which path cold calls were served */
  readonly paths: ColdStarts;
  private warmed = false;

  constructor(
    readonly spec: FunctionSpec,
    private readonly opts: DeploymentOptions,
  ) {
    this.pool = new Pool<FunctionContainer>({
      name: spec.name,
      settings: opts.poolSettings ?? spec.pool,
      queueMax: opts.queueMax,
      queueTimeoutMs: opts.queueTimeoutMs,
      start: (reason) => this.startContainer(reason),
      onEvent: (e) => opts.onPoolEvent?.(spec.name, e),
    });
    this.paths = new ColdStarts({
      spec,
      stemCells: opts.stemCells,
      logs: opts.logs,
      onEvent: (e) => opts.onPoolEvent?.(spec.name, e),
    });
  }

  get status(): DeploymentStatus {
    if (this.pool.fatalError) return 'invalid';
    return this.warmed ? 'ready' : 'deploying';
  }

  get error(): string | undefined {
    return (this.pool.fatalError ?? (this.warmed ? undefined : this.pool.lastError))?.message;
  }

  /** why it is invalid or not warm yet, as an error code */
  get errorCode(): string | undefined {
    const err = this.pool.fatalError ?? (this.warmed ? undefined : this.pool.lastError);
    return err && (err instanceof TitanError ? err.code : 'sandbox_error');
  }

  /**
   * Prewarm `min` containers; with `probe`, at least one even when min is 0 (a redeploy proves the
   * new version loads before it replaces the old). Never rejects: failures show in status/error and
   * the pool retries.
   */
  async warmUp(opts: { probe?: boolean } = {}): Promise<void> {
    try {
      await this.pool.warmUp();
      if (opts.probe && !this.warmed)
        this.pool.release(await this.pool.acquire(Date.now() + this.opts.startupTimeoutMs));
      this.warmed = true;
    } catch {
      // a later successful start (retry or demand) also makes it ready; see startContainer
    }
  }

  private async startContainer(reason: StartReason): Promise<FunctionContainer> {
    // Only for waiting calls: prewarming and replacing below min are not worth a stem cell.
    const c =
      reason === 'demand'
        ? await this.paths.start(() => this.newContainer())
        : await this.newContainer();
    this.warmed = true;
    return c;
  }

  /** The classic start: a container of the function's own. */
  private async newContainer(): Promise<FunctionContainer> {
    // permissions.fs paths were checked at deploy; a start may come much later (see permissions.ts)
    await verifyMounts(this.spec.fs);
    const suffix = randomBytes(4).toString('hex');
    const socketDir = join(this.opts.runDir, suffix);
    const containerName = `titan-${this.opts.scope}-${this.spec.name}-${suffix}`;
    const spec = containerSpecFor(this.spec, this.opts.limits, {
      containerName,
      socketDir,
      scope: this.opts.scope,
    });
    return FunctionContainer.start(this.opts.engine, spec, {
      socketDir,
      startupTimeoutMs: this.opts.startupTimeoutMs,
      maxResponseBytes: this.opts.limits.maxResponseBytes,
      onLog: this.opts.logs && ((line, id) => this.opts.logs!.add(this.spec.name, id, line)),
    });
  }

  async invoke(eventJson: string, ctx: InvocationContext): Promise<InvocationResult> {
    const lease = await this.pool.acquire(ctx.deadline);
    this.waits.record(lease.waitMs);
    if (lease.cold) {
      this.coldStarts++;
      this.paths.cold(lease.worker);
    }
    const body = `{"event":${eventJson},"context":${JSON.stringify(ctx)}}`;
    const remaining = Math.max(0, ctx.deadline - Date.now());
    let reply: InvokeReply;
    try {
      reply = await lease.worker.invoke(body, {
        ms: remaining,
        error: () => new TimeoutError(this.spec.name, this.spec.timeoutMs),
      });
    } catch (err) {
      this.paths.ended(lease.worker);
      // The container is in an unknown state: never hand it out again. A lost connection is explained
      // first: retiring removes the container, and with it the engine's record of an OOM kill (an
      // inspect racing the removal answers 404, and out_of_memory became sandbox_error under load).
      // Meanwhile the lease keeps the slot busy; a container that did exit is retired by the pool.
      if (err instanceof ResponseTooLargeError) {
        // Only that connection was dropped (unread); the container itself is as good as before.
        this.pool.release(lease);
        throw err;
      }
      const explained =
        err instanceof ConnectionLostError ? await this.explainLoss(lease.worker) : undefined;
      this.pool.retire(lease.worker, err instanceof TimeoutError ? 'timeout' : 'crashed');
      throw explained ?? err;
    }
    this.pool.release(lease);
    this.paths.ended(lease.worker);
    if (reply.outcome === 'error') {
      const e = readErrorBody(reply.body);
      const details = e?.name ? { name: e.name } : undefined;
      throw e?.rejected === true
        ? new FunctionRejectedError(e.message ?? reply.body, details)
        : new FunctionError(e?.message ?? reply.body, details);
    }
    if (!reply.envelope)
      return { resultJson: reply.body, emits: [], cold: lease.cold, waitMs: lease.waitMs };
    const env = openEnvelope(reply.body, this.spec.name);
    return { resultJson: env.resultJson, emits: env.emits, cold: lease.cold, waitMs: lease.waitMs };
  }

  /** The socket dropped mid-call: find out whether the kernel's OOM killer did it. */
  private async explainLoss(worker: FunctionContainer): Promise<TitanError> {
    const exit = await Promise.race([
      worker.exited,
      sleep(3000, undefined, { ref: false }).then(() => undefined as ExitInfo | undefined),
    ]);
    if (exit?.oomKilled) return new OutOfMemoryError(this.spec.name, this.spec.memoryBytes);
    return new SandboxError(
      exit
        ? `the container running '${this.spec.name}' exited with code ${exit.exitCode} during the invocation`
        : `lost the connection to the container running '${this.spec.name}'`,
    );
  }

  /** Stop taking work; once every container is gone, so are the build output and secret copies they mounted. */
  drain(): Promise<void> {
    return this.pool
      .drain()
      .then(() => Promise.all([removeBuild(this.spec), removeSecretCopies(this.spec)]))
      .then(() => {});
  }
}
