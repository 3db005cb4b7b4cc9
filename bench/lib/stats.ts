// Order statistics for benchmark samples: percentiles of one run, median and spread over repetitions.

/** The q-quantile (0..1) of a sample by linear interpolation between closest ranks; NaN when empty. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export const median = (values: readonly number[]): number => percentile(values, 0.5);

/** What a repeated measurement is reported as: the median of the repetitions and their range. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: readonly number[]): Spread {
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
  };
}

/** The range as a percentage of the median, for the table ("±" is half of it). */
export function spreadPct(s: Spread): number {
  return s.median === 0 ? 0 : ((s.max - s.min) / Math.abs(s.median)) * 100;
}
