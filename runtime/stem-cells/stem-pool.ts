// The stem cells of one runtime: `min` kept ready, each one taken replaced in the background. A take
// that finds none ready (a burst larger than the pool) is a miss: the caller starts a container of its
// own, and the pool raises its target by one, up to `max`, so the next burst of that size finds cells;
// after `holdMs` without a miss the target is back to `min` and the extra ready cells are stopped.
// A cell that fails to start or dies while ready is replaced after a backoff, never handed out.
// Refills wait while a start that calls wait for is under way (hold()): on two cores a container
// starting beside a specialization or a classic start doubled their time (bench/README.md).
import { RetryTimer } from '../retry-timer.ts';

export interface Cell {
  /** settles when the container dies on its own */
  readonly exited: Promise<unknown>;
  stop(): Promise<void>;
}

export interface StemPoolStats {
  ready: number;
  starting: number;
  /** cells kept ready now: min, raised by misses up to max */
  target: number;
}

export interface StemPoolOptions<C extends Cell> {
  min: number;
  max: number;
  start: () => Promise<C>;
  /** told after every change of ready or starting, for the metrics */
  onChange?: (stats: StemPoolStats) => void;
  onStartFailed?: (err: Error) => void;
  now?: () => number;
  /** how long a raised target holds after the last miss; default 5 minutes */
  holdMs?: number;
  /** base delay before replacing a cell that failed; doubles up to 30 s */
  retryBaseMs?: number;
}

export class StemPool<C extends Cell> {
  private readonly ready: C[] = [];
  private starting = 0;
  private target: number;
  private lastMiss = -Infinity;
  private readonly retry: RetryTimer;
  private readonly holdTimer: NodeJS.Timeout;
  private closed = false;
  private holds = 0;
  private stopping: Promise<unknown>[] = [];
  private readonly now: () => number;

  constructor(private readonly opts: StemPoolOptions<C>) {
    this.target = opts.min;
    this.now = opts.now ?? Date.now;
    this.retry = new RetryTimer(opts.retryBaseMs ?? 500);
    this.holdTimer = setInterval(() => this.tick(), 1000);
    this.holdTimer.unref();
  }

  stats(): StemPoolStats {
    return { ready: this.ready.length, starting: this.starting, target: this.target };
  }

  /** Start filling up to `min`. */
  start(): void {
    this.fill();
    this.changed();
  }

  /** A ready cell, now; undefined when none is (the caller starts a container of its own). */
  take(): C | undefined {
    if (this.closed || this.opts.min === 0) return undefined;
    const cell = this.ready.shift();
    if (!cell) {
      this.lastMiss = this.now();
      this.target = Math.min(this.opts.max, this.target + 1);
    }
    this.fill();
    this.changed();
    return cell;
  }

  /** No cell starts until the returned release is called (each hold once); then the pool fills up. */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.fill();
    };
  }

  /** Back to `min` once no miss was seen for holdMs; extra ready cells stop. Called every second. */
  tick(): void {
    if (this.closed || this.target === this.opts.min) return;
    if (this.now() - this.lastMiss < (this.opts.holdMs ?? 300_000)) return;
    this.target = this.opts.min;
    for (const cell of this.ready.splice(this.target)) this.discard(cell);
    this.changed();
  }

  /** Stop every cell, ready or starting; resolves once they are removed. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.holdTimer);
    this.retry.cancel();
    for (const cell of this.ready.splice(0)) this.discard(cell);
    this.changed();
    // Cells still starting are stopped as they arrive (spawn); wait for them too.
    while (this.starting > 0 || this.stopping.length > 0) {
      const pending = this.stopping.splice(0);
      await (pending.length ? Promise.allSettled(pending) : new Promise((r) => setTimeout(r, 20)));
    }
  }

  private fill(): void {
    if (this.closed || this.retry.pending || this.holds > 0) return;
    while (this.ready.length + this.starting < this.target) void this.spawn();
  }

  private async spawn(): Promise<void> {
    this.starting++;
    this.changed();
    let cell: C;
    try {
      cell = await this.opts.start();
    } catch (err) {
      this.starting--;
      this.opts.onStartFailed?.(err as Error);
      this.failed();
      return;
    }
    this.starting--;
    if (this.closed || this.ready.length >= this.target) {
      this.discard(cell);
    } else {
      this.retry.succeeded();
      this.ready.push(cell);
      void cell.exited.then(() => this.died(cell));
    }
    this.changed();
  }

  /** A ready cell's container died (removed from outside, killed): replace it, after a backoff. */
  private died(cell: C): void {
    const i = this.ready.indexOf(cell);
    if (i < 0) return; // taken, or stopped by us
    this.ready.splice(i, 1);
    this.discard(cell);
    this.changed();
    this.failed();
  }

  private failed(): void {
    if (!this.closed) this.retry.failed(() => this.fill());
  }

  private discard(cell: C): void {
    const p = cell.stop().catch(() => {});
    this.stopping.push(p);
    void p.then(() => (this.stopping = this.stopping.filter((x) => x !== p)));
  }

  private changed(): void {
    this.opts.onChange?.(this.stats());
  }
}
