// A warm pool of workers (function containers) for one function: acquire / release / retire / drain,
// growth on demand up to `max`, a bounded wait queue, and idle scale-down to `min`.
import { OverloadedError, TimeoutError, TitanError } from './errors.ts';
import type { PoolSettings } from './spec.ts';
import { RetryTimer } from './retry-timer.ts';
import type {
  Lease,
  PoolOptions,
  PoolState,
  PoolStats,
  PoolWorker,
  Slot,
  StartReason,
  Waiter,
} from './pool-types.ts';

// The pool's types live in pool-types.ts; importers keep naming them from here.
export type * from './pool-types.ts';

export class Pool<W extends PoolWorker> {
  private settings: PoolSettings;
  private readonly slots: Slot<W>[] = [];
  private readonly waiters: Waiter<W>[] = [];
  private starting = 0;
  private state: PoolState = 'open';
  private readonly retry: RetryTimer;
  private readonly idleTimer: NodeJS.Timeout;
  private drained?: Promise<void>;
  private readonly now: () => number;
  /** the last start failure, shown in status while nothing is warm */
  lastError?: Error;
  /** a start failure that retrying cannot fix (the handler does not load) */
  fatalError?: TitanError;
  /** a container of this version loaded its handler once: the code itself is fine */
  private everStarted = false;

  constructor(private readonly opts: PoolOptions<W>) {
    this.settings = { ...opts.settings };
    this.now = opts.now ?? Date.now;
    this.retry = new RetryTimer(opts.retryBaseMs ?? 500);
    this.idleTimer = setInterval(() => this.reapIdle(), 1000);
    this.idleTimer.unref();
  }

  get name(): string {
    return this.opts.name;
  }

  get config(): PoolSettings {
    return { ...this.settings };
  }

  stats(): PoolStats {
    const busy = this.slots.filter((s) => s.inflight > 0).length;
    const inflight = this.slots.reduce((n, s) => n + s.inflight, 0);
    return {
      warm: this.slots.length - busy,
      busy,
      starting: this.starting,
      queued: this.waiters.length,
      inflight,
    };
  }

  /** Start `min` containers; resolves once that many are warm, rejects on the first failure. */
  async warmUp(): Promise<void> {
    const need = this.settings.min - this.slots.length - this.starting;
    const starts = Array.from({ length: Math.max(0, need) }, () => this.spawn('prewarm'));
    const results = await Promise.allSettled(starts);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Live change of min/max/concurrency/idle: grows to a new min at once, shrinks idle extras. */
  update(settings: PoolSettings): void {
    const loweredMin = settings.min < this.settings.min;
    this.settings = { ...settings };
    void this.warmUp().catch(() => {});
    this.dispatch();
    this.growForQueue();
    if (loweredMin) {
      // Extras that are idle now stop now; busy ones follow the idle rule once they finish.
      const extra = this.slots.length - settings.min;
      for (const s of this.slots.filter((x) => x.inflight === 0).slice(0, Math.max(0, extra)))
        this.retire(s.worker, 'scaled_down');
    }
    this.reapIdle();
  }

  acquire(deadline = Infinity): Promise<Lease<W>> {
    if (this.state !== 'open')
      return Promise.reject(
        new TitanError('not_found', `function '${this.name}' is being undeployed`),
      );
    if (this.fatalError) return Promise.reject(this.fatalError);
    const slot = this.freeSlot();
    if (slot) return Promise.resolve(this.lease(slot, 0));
    // queue_max bounds the wait at max: waiters that containers still to start (up to max) will take
    // do not count, or a small queue would cap demand growth (queue_max 0 with min 0 served nothing).
    const headroom = Math.max(0, this.settings.max - this.slots.length) * this.settings.concurrency;
    if (this.waiters.length >= this.opts.queueMax + headroom) {
      return Promise.reject(
        new OverloadedError(
          `function '${this.name}' is at capacity (${this.settings.max} containers × ${this.settings.concurrency}) with ${this.waiters.length} invocations queued`,
        ),
      );
    }
    return new Promise<Lease<W>>((resolve, reject) => {
      const since = this.now();
      const byDeadline = deadline - since < this.opts.queueTimeoutMs;
      const waitMs = Math.max(0, Math.min(this.opts.queueTimeoutMs, deadline - since));
      const waiter: Waiter<W> = {
        resolve,
        reject,
        since,
        timer: setTimeout(() => {
          this.removeWaiter(waiter);
          reject(
            byDeadline
              ? new TimeoutError(this.name, waitMs)
              : new OverloadedError(
                  `function '${this.name}': no container free after waiting ${waitMs} ms`,
                ),
          );
          this.finishDrainIfIdle(); // a drain may have been waiting on this waiter alone
        }, waitMs),
      };
      this.waiters.push(waiter);
      this.growForQueue();
    });
  }

  release(lease: Lease<W>): void {
    const slot = this.slots.find((s) => s.worker === lease.worker);
    if (!slot) return; // retired while in flight
    slot.inflight--;
    slot.lastUsed = this.now();
    if (this.state === 'draining') this.finishDrainIfIdle();
    this.dispatch();
  }

  /** Remove a worker (timed out, crashed, idle) and stop its container; replaces it if below min. */
  retire(worker: W, why: string): void {
    const i = this.slots.findIndex((s) => s.worker === worker);
    if (i < 0) return;
    this.slots.splice(i, 1);
    this.opts.onEvent?.({ kind: 'stopped', why });
    void worker.stop().catch(() => {});
    if (this.state === 'open') {
      if (this.slots.length + this.starting < this.settings.min)
        void this.spawn('replace').catch(() => {});
      this.growForQueue();
    } else {
      this.failWaitersIfNoCapacity(
        new TitanError(
          'sandbox_error',
          `function '${this.name}' lost its last container while being undeployed`,
        ),
      );
      this.finishDrainIfIdle();
    }
  }

  /** Stop taking work; queued and in-flight invocations finish, then every container stops. */
  drain(): Promise<void> {
    if (this.drained) return this.drained;
    this.state = 'draining';
    clearInterval(this.idleTimer);
    this.retry.cancel();
    this.drained = new Promise<void>((resolve) => {
      this.onDrained = resolve;
      this.finishDrainIfIdle();
    });
    return this.drained;
  }

  private onDrained?: () => void;

  private finishDrainIfIdle(): void {
    if (this.state !== 'draining' || this.waiters.length > 0 || this.starting > 0) return;
    if (this.slots.some((s) => s.inflight > 0)) return;
    this.state = 'closed';
    const workers = this.slots.splice(0).map((s) => s.worker);
    void Promise.allSettled(workers.map((w) => w.stop())).then(() => this.onDrained?.());
  }

  private freeSlot(): Slot<W> | undefined {
    // Least loaded; ties go to the oldest slot so later ones fall idle and get reaped.
    let best: Slot<W> | undefined;
    for (const s of this.slots) {
      if (s.inflight < this.settings.concurrency && (!best || s.inflight < best.inflight)) best = s;
    }
    return best;
  }

  private lease(slot: Slot<W>, waitMs: number): Lease<W> {
    const cold = slot.reason === 'demand' && slot.served === 0;
    slot.inflight++;
    slot.served++;
    slot.lastUsed = this.now();
    return { worker: slot.worker, cold, waitMs };
  }

  private dispatch(): void {
    while (this.waiters.length > 0) {
      const slot = this.freeSlot();
      if (!slot) return;
      const w = this.waiters.shift()!;
      clearTimeout(w.timer);
      w.resolve(this.lease(slot, this.now() - w.since));
    }
  }

  /** Start containers while queued work exceeds the capacity already on its way, up to max. */
  private growForQueue(): void {
    if (this.state !== 'open') return;
    while (
      this.waiters.length > this.starting * this.settings.concurrency &&
      this.slots.length + this.starting < this.settings.max
    ) {
      void this.spawn('demand').catch(() => {});
    }
  }

  private async spawn(reason: StartReason): Promise<void> {
    this.starting++;
    const t0 = this.now();
    let worker: W;
    try {
      worker = await this.opts.start(reason);
    } catch (err) {
      this.starting--;
      this.onStartFailed(err as Error, reason);
      throw err;
    }
    this.starting--;
    this.retry.succeeded();
    this.lastError = undefined;
    this.everStarted = true;
    if (this.state === 'closed') {
      void worker.stop().catch(() => {});
      return;
    }
    // While draining it still serves the invocations queued for it; the drain then stops it.
    this.slots.push({ worker, inflight: 0, served: 0, lastUsed: this.now(), reason });
    this.opts.onEvent?.({ kind: 'started', reason, ms: this.now() - t0 });
    void worker.exited.then(() => this.retire(worker, 'exited'));
    this.dispatch();
    this.finishDrainIfIdle();
  }

  private onStartFailed(err: Error, reason: StartReason): void {
    this.lastError = err;
    this.opts.onEvent?.({ kind: 'start_failed', reason, error: err });
    // A handler that does not load is fatal for a version that never loaded. Once one container of
    // it did, the folder changed under it (an edit in progress, its redeploy on the way): retry.
    if (err instanceof TitanError && err.code === 'function_invalid' && !this.everStarted) {
      this.fatalError = err;
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(err);
      }
      this.finishDrainIfIdle();
      return;
    }
    this.failWaitersIfNoCapacity(err);
    if (this.state === 'draining') {
      this.finishDrainIfIdle();
      return;
    }
    // Keep trying to reach `min`, backing off so a broken engine is not hammered.
    this.retry.failed(() => {
      if (this.state === 'open') void this.warmUp().catch(() => {});
    });
  }

  /** Nothing warm and nothing starting: waiting would only end in the queue timeout. */
  private failWaitersIfNoCapacity(err: Error): void {
    if (this.slots.length > 0 || this.starting > 0) return;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(
        err instanceof TitanError
          ? err
          : new TitanError(
              'sandbox_error',
              `no container could be started for '${this.name}': ${err.message}`,
            ),
      );
    }
  }

  private removeWaiter(w: Waiter<W>): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  private reapIdle(): void {
    if (this.state !== 'open') return;
    const cutoff = this.now() - this.settings.idleSec * 1000;
    const spare = this.slots.length - this.settings.min;
    const idle = this.slots
      .filter((s) => s.inflight === 0 && s.lastUsed <= cutoff)
      .slice(0, Math.max(0, spare));
    for (const s of idle) this.retire(s.worker, 'idle');
    // Lowering max below the current count: retire idle extras now, busy ones as they finish.
    const over = this.slots.length - this.settings.max;
    for (const s of this.slots.filter((x) => x.inflight === 0).slice(0, Math.max(0, over)))
      this.retire(s.worker, 'scaled_down');
  }
}
