// The dashboard's rates (gateway/ui/stats.ts): from the gateway's own Prometheus counters, with a
// clock driven by hand. Quantiles as Prometheus' histogram_quantile reads buckets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../../runtime/metrics.ts';
import { FunctionStats, quantile } from '../../gateway/ui/stats.ts';

test('quantile interpolates within the bucket that holds the rank, in ms', () => {
  const bounds = [0.01, 0.1, 1, Infinity];
  assert.equal(quantile(0.5, bounds, [0, 0, 0, 0]), null, 'no calls: no latency');
  assert.equal(
    quantile(0.5, bounds, [10, 10, 10, 10]),
    5,
    'all under 10 ms: half way up the first bucket',
  );
  assert.equal(quantile(0.5, bounds, [0, 10, 10, 10]), 55, '10..100 ms bucket, rank 5 of 10');
  assert.equal(quantile(0.99, bounds, [50, 99, 100, 100]), 100, 'rank 99 ends the second bucket');
  assert.equal(quantile(0.99, bounds, [0, 0, 0, 4]), 1000, 'beyond the last bound: that bound');
});

test('rates per minute and latency come from counter differences between snapshots', async () => {
  let now = 1_000_000;
  const metrics = new Metrics(() => [], { processMetrics: false });
  const stats = new FunctionStats(metrics, { everyMs: 1000, now: () => now });
  await stats.sample();
  assert.deepEqual(stats.series('f'), [], 'one snapshot: no window yet');

  for (let i = 0; i < 30; i++) {
    metrics.invocations.inc({ function: 'f', outcome: i < 3 ? 'timeout' : 'ok' });
    metrics.duration.observe({ function: 'f' }, 0.004); // 4 ms: the 2.5..5 ms bucket
  }
  metrics.coldStarts.inc({ function: 'f' });
  now += 30_000;
  await stats.sample();
  const r = stats.latest('f')!;
  assert.equal(r.window_ms, 30_000);
  assert.equal(r.invocations_per_min, 60);
  assert.equal(r.errors_per_min, 6);
  assert.equal(r.cold_starts_per_min, 2);
  assert.equal(r.p50_ms, 3.75);
  assert.equal(r.p99_ms, 4.98);

  now += 500; // younger than everyMs: no new snapshot
  await stats.sample();
  assert.equal(stats.latest('f')!.at, 1_030_000);

  now += 29_500; // a quiet half minute
  await stats.sample();
  const series = stats.series('f', 10_000);
  assert.deepEqual(
    series.map((s) => s.invocations_per_min),
    [60, 0],
  );
  assert.equal(series[1]!.p50_ms, null, 'no call in the quiet window');
  assert.equal(
    stats.latest('f', 60_000)!.invocations_per_min,
    30,
    'the last minute holds the 30 calls',
  );
  const other = stats.latest('other')!;
  assert.deepEqual(
    [other.invocations_per_min, other.p50_ms],
    [0, null],
    'a function with no calls yet',
  );
});

test('old snapshots are dropped after keepMs', async () => {
  let now = 0;
  const metrics = new Metrics(() => [], { processMetrics: false });
  const stats = new FunctionStats(metrics, { everyMs: 1000, keepMs: 10_000, now: () => now });
  for (let i = 0; i < 50; i++) {
    metrics.invocations.inc({ function: 'f', outcome: 'ok' });
    await stats.sample();
    now += 1000;
  }
  const series = stats.series('f', 1000);
  assert.ok(series.length <= 11, `${series.length} windows kept`);
  assert.ok(series.every((s) => s.invocations_per_min === 60));
});
