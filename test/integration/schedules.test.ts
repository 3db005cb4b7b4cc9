// Schedules on the real engine and Redis: an `@every 1s` function fires through the invoke path with
// the schedule trigger and the manifest's event; two gateways sharing Redis (one key prefix) run each
// tick once between them; removing the folder stops it; runs are counted in /metrics.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { fn, startHarness, type Harness } from '../helpers/harness.ts';
import {
  deletePrefix,
  metricValue,
  readStream,
  redisClient,
  sharedRedisUrl,
  uniquePrefix,
  waitFor,
} from '../helpers/events.ts';

/** A function that reports each run on a topic: the trigger and the event it got. */
const ticker = (topic: string, schedule: string) =>
  fn(
    `export default async (event, context) => { context.emit(${JSON.stringify(topic)}, 'tick', { trigger: context.trigger, event }); return context.trigger.scheduledAt; };`,
    `schedule: ${schedule}\npool: { min: 1, max: 2 }\n`,
  );

describe('schedules', () => {
  let redis: Redis;
  const P = uniquePrefix();
  const gateways: Harness[] = [];
  const ticks = async (topic: string) =>
    (await readStream(redis, P + topic)).map(
      (e) => JSON.parse(e.fields.data!) as { trigger: Record<string, unknown>; event: unknown },
    );

  before(async () => {
    redis = redisClient(await sharedRedisUrl());
  });
  after(async () => {
    for (const h of gateways) await h.close();
    await deletePrefix(redis, P);
    redis.disconnect();
  });
  const start = async (functions: Record<string, ReturnType<typeof fn>>) => {
    const h = await startHarness(functions, { events: { key_prefix: P } });
    gateways.push(h);
    return h;
  };

  test('@every 1s fires with the schedule trigger and the manifest event, and is counted', async () => {
    const h = await start({
      every: ticker('every.ticks', '{ cron: "@every 1s", event: { job: "cleanup" } }'),
    });
    const seen = await waitFor(
      'three ticks',
      async () => ((await ticks('every.ticks')).length >= 3 ? ticks('every.ticks') : undefined),
      20_000,
    );
    const [first, second] = seen;
    assert.deepEqual(first!.event, { job: 'cleanup' });
    assert.equal(first!.trigger.kind, 'schedule');
    assert.equal(first!.trigger.schedule, '@every 1s');
    assert.equal(first!.trigger.catchUp, false);
    const at = (t: { trigger: Record<string, unknown> }) =>
      Date.parse(String(t.trigger.scheduledAt));
    assert.equal(at(first!) % 1000, 0, 'ticks fall on whole seconds');
    // One run per tick (a tick that comes while the previous run still goes, e.g. the first one on a
    // container still warming, is skipped, not queued).
    assert.ok(at(second!) > at(first!) && (at(second!) - at(first!)) % 1000 === 0);
    const metrics = await (await h.request('/metrics')).text();
    assert.ok(
      metricValue(metrics, 'titan_schedule_runs_total', { function: 'every', outcome: 'ok' }) >= 3,
      metrics
        .split('\n')
        .filter((l) => l.includes('schedule'))
        .join('\n'),
    );

    // Removing the folder stops it.
    await h.removeFunction('every');
    await waitFor(
      'undeployed',
      async () => (await h.request('/functions/every')).status === 404,
      10_000,
    );
    await sleep(1500); // a run claimed just before the removal may still land
    const settled = (await ticks('every.ticks')).length;
    await sleep(2500);
    assert.equal((await ticks('every.ticks')).length, settled, 'no tick after the folder is gone');
    assert.deepEqual(h.gw.scheduler?.scheduled(), []);
  });

  test('two gateways sharing Redis run each tick once', async () => {
    const files = ticker('shared.ticks', '"@every 1s"');
    const [a, b] = await Promise.all([start({ shared: files }), start({ shared: files })]);
    await waitFor('six ticks', async () => (await ticks('shared.ticks')).length >= 6, 25_000);
    await a.removeFunction('shared');
    await b.removeFunction('shared');
    await waitFor(
      'both undeployed',
      async () =>
        (await a.request('/functions/shared')).status === 404 &&
        (await b.request('/functions/shared')).status === 404,
      10_000,
    );
    await sleep(1500);
    const times = (await ticks('shared.ticks')).map((t) => String(t.trigger.scheduledAt));
    assert.equal(new Set(times).size, times.length, `each tick once: ${times.join(', ')}`);
    const ran = async (h: Harness) =>
      metricValue(await (await h.request('/metrics')).text(), 'titan_schedule_runs_total', {
        function: 'shared',
        outcome: 'ok',
      });
    const [ranA, ranB] = [await ran(a), await ran(b)];
    assert.equal(
      ranA + ranB,
      times.length,
      'the two gateways together ran as many as there were ticks',
    );
    // Each tick was claimed in the reserved namespace, under the shared prefix.
    const claims = await redis.keys(`${P}titan.schedule:{shared}:tick:*`);
    assert.ok(claims.length >= times.length, `claims: ${claims.length}`);
  });
});
