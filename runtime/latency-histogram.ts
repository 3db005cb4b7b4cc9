// Percentiles since start in constant memory: log-spaced buckets (10 % wide) from 10 µs to ~1 h.
// Good enough for `titan pools` (p50/p99 queue wait) without keeping every sample.

const MIN_MS = 0.01;
const RATIO = 1.1;
const BUCKETS = Math.ceil(Math.log(3_600_000 / MIN_MS) / Math.log(RATIO)) + 1;

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS + 1); // [0] holds samples below MIN_MS
  count = 0;

  record(ms: number): void {
    const i =
      ms < MIN_MS ? 0 : Math.min(BUCKETS, 1 + Math.floor(Math.log(ms / MIN_MS) / Math.log(RATIO)));
    this.counts[i]++;
    this.count++;
  }

  /** The upper edge of the bucket holding the q-quantile (0 < q <= 1); 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i === 0 ? 0 : MIN_MS * RATIO ** i;
    }
    return MIN_MS * RATIO ** BUCKETS;
  }
}
