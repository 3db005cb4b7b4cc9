// Retrying after failures without hammering what failed: each failure in a row doubles the wait
// (base, 2 × base, 4 × base ... up to max); a success starts over.

/** The wait before retry number `failures + 1`: base × 2^failures, at most max. */
export const backoffMs = (failures: number, baseMs: number, maxMs: number): number =>
  Math.min(maxMs, baseMs * 2 ** failures);

/** One pending retry at a time, backing off across failures; never keeps the process alive. */
export class RetryTimer {
  private failures = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs = 30_000,
  ) {}

  /** Whether a retry is waiting to run. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** After a failure: run `retry` once the backoff has passed, instead of any retry already waiting. Returns the wait. */
  failed(retry: () => void): number {
    const delay = backoffMs(this.failures++, this.baseMs, this.maxMs);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      retry();
    }, delay);
    this.timer.unref();
    return delay;
  }

  /** A success: the next failure waits `base` again. */
  succeeded(): void {
    this.failures = 0;
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
