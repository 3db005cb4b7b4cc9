// Per-function rates for the dashboard, from the gateway's own Prometheus counters: invocations and
// errors per minute, latency p50/p99 (from the duration histogram's bucket deltas, interpolated as
// Prometheus' histogram_quantile does), cold starts. Snapshots of the cumulative counters are taken
// when asked (at most one per `everyMs`), so nothing runs while no one looks; a difference of two
// snapshots is exact whatever their spacing.
import type { Metrics } from '../../runtime/metrics.ts';
import type { Rates } from './stats-schema.ts';

interface FnCounts {
  calls: number;
  errors: number;
  cold: number;
  /** cumulative counts per upper bound (le), in the histogram's order */
  buckets: number[];
}

interface Snapshot {
  at: number;
  fns: Map<string, FnCounts>;
}

export interface StatsOptions {
  everyMs?: number;
  /** how far back snapshots are kept */
  keepMs?: number;
  now?: () => number;
}

const EMPTY: FnCounts = { calls: 0, errors: 0, cold: 0, buckets: [] };

export class FunctionStats {
  private readonly ring: Snapshot[] = [];
  private bounds: number[] = [];
  private readonly everyMs: number;
  private readonly keepMs: number;
  private readonly now: () => number;

  constructor(
    private readonly metrics: Metrics,
    { everyMs = 2000, keepMs = 15 * 60_000, now = Date.now }: StatsOptions = {},
  ) {
    this.everyMs = everyMs;
    this.keepMs = keepMs;
    this.now = now;
  }

  /** Take a snapshot unless the newest is younger than everyMs. */
  async sample(): Promise<void> {
    const at = this.now();
    const last = this.ring.at(-1);
    if (last && at - last.at < this.everyMs) return;
    const fns = new Map<string, FnCounts>();
    const of = (fn: string): FnCounts =>
      fns.get(fn) ?? fns.set(fn, { calls: 0, errors: 0, cold: 0, buckets: [] }).get(fn)!;
    for (const { labels, value } of (await this.metrics.invocations.get()).values) {
      const f = of(String(labels.function));
      f.calls += value;
      if (labels.outcome !== 'ok') f.errors += value;
    }
    for (const { labels, value } of (await this.metrics.coldStarts.get()).values)
      of(String(labels.function)).cold += value;
    const bounds: number[] = [];
    for (const { labels, value, metricName } of (await this.metrics.duration.get()).values) {
      if (metricName !== 'titan_invocation_duration_seconds_bucket') continue;
      const bound = (labels as { le?: string | number }).le;
      const le = bound === '+Inf' ? Infinity : Number(bound);
      const f = of(String(labels.function));
      if (f.buckets.length >= bounds.length) bounds.push(le);
      f.buckets.push(value);
    }
    if (bounds.length) this.bounds = bounds;
    this.ring.push({ at, fns });
    while (this.ring.length > 2 && at - this.ring[0]!.at > this.keepMs) this.ring.shift();
  }

  /** Rates over the last `windowMs` (or since the oldest snapshot). */
  latest(fn: string, windowMs = 60_000): Rates | undefined {
    const end = this.ring.at(-1);
    if (!end) return undefined;
    const start = [...this.ring].reverse().find((s) => end.at - s.at >= windowMs) ?? this.ring[0]!;
    return this.rates(fn, start, end);
  }

  /** Consecutive windows of about `stepMs`, oldest first, for a plot of the last minutes. */
  series(fn: string, stepMs = 10_000): Rates[] {
    const picked: Snapshot[] = [];
    for (let i = this.ring.length - 1; i >= 0; i--) {
      const s = this.ring[i]!;
      if (picked.length === 0 || picked.at(-1)!.at - s.at >= stepMs) picked.push(s);
    }
    picked.reverse();
    return picked.slice(1).map((end, i) => this.rates(fn, picked[i]!, end));
  }

  private rates(fn: string, start: Snapshot, end: Snapshot): Rates {
    const a = start.fns.get(fn) ?? EMPTY;
    const b = end.fns.get(fn) ?? EMPTY;
    const windowMs = end.at - start.at;
    const perMin = (x: number) =>
      windowMs > 0 ? Math.round((x * 60_000 * 10) / windowMs) / 10 : 0;
    const deltas = b.buckets.map((v, i) => v - (a.buckets[i] ?? 0));
    return {
      at: end.at,
      window_ms: windowMs,
      invocations_per_min: perMin(b.calls - a.calls),
      errors_per_min: perMin(b.errors - a.errors),
      cold_starts_per_min: perMin(b.cold - a.cold),
      p50_ms: quantile(0.5, this.bounds, deltas),
      p99_ms: quantile(0.99, this.bounds, deltas),
    };
  }
}

/** The q-quantile in ms of cumulative bucket counts, linear within a bucket; the +Inf bucket reads as its lower bound. */
export function quantile(q: number, bounds: number[], cumulative: number[]): number | null {
  const total = cumulative.at(-1) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < cumulative.length; i++) {
    if (cumulative[i]! < rank) continue;
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    const upper = bounds[i]!;
    if (upper === Infinity) return round(lower * 1000);
    const below = i === 0 ? 0 : cumulative[i - 1]!;
    const inBucket = cumulative[i]! - below;
    return round((lower + (upper - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1)) * 1000);
  }
  return null;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;
