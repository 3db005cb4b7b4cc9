// Hostile schedules, on the real engine and Redis: a manifest cannot make the scheduler flood (an
// interval under 1 s is refused; a slow function on `@every 1s` never has more than one scheduled run
// going per gateway, the ticks it overruns are skipped and counted), and a tick's claim key cannot
// be forged or taken from an event topic, a function's emit, or a trigger (all in the reserved
// `titan.` namespace).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { containersOf, errorOf, fn, startHarness, type Harness } from '../helpers/harness.ts';
import {
  deletePrefix,
  json,
  metricValue,
  readStream,
  redisClient,
  sharedRedisUrl,
  waitFor,
} from '../helpers/events.ts';

describe('security: schedules', () => {
  let h: Harness;
  let redis: Redis;
  let P: string;
  const claimKey = (fn: string, at: number) => `${P}titan.schedule:{${fn}}:tick:${at}`;

  before(async () => {
    redis = redisClient(await sharedRedisUrl());
    h = await startHarness({
      flood: fn('export default async () => 1', 'schedule: "@every 1ms"\n'),
      flood2: fn('export default async () => 1', 'schedule: { cron: "@every 999ms" }\n'),
      // A run takes 2.5 s; ticks come every second.
      slow: fn(
        'export default async (e, ctx) => { await new Promise((r) => setTimeout(r, 2500)); return ctx.trigger.scheduledAt; }',
        'schedule: "@every 1s"\npool: { min: 1, max: 4, concurrency: 4 }\n',
      ),
      forger: fn(
        `export default async (event, context) => { context.emit(event.topic, 'forged', 1); return 'emitted'; };`,
      ),
      quick: fn(
        "export default async (e, ctx) => { ctx.emit('quick.runs', 'ran', ctx.trigger.scheduledAt); return 1; }",
        'schedule: "@every 1s"\n',
      ),
      thief: fn(
        'export default async (e) => e;',
        'triggers:\n  - topic: "titan.schedule:{slow}:tick:*"\n',
      ),
    });
    P = h.config.events.keyPrefix;
  });
  after(async () => {
    await h?.close();
    if (redis) {
      await deletePrefix(redis, P);
      redis.disconnect();
    }
  });
  const info = async (name: string) => (await json(h.request(`/functions/${name}`))).body;

  test('a schedule more often than once a second is invalid, and nothing runs for it', async () => {
    for (const name of ['flood', 'flood2']) {
      const listed = await info(name);
      assert.equal(listed.status, 'invalid');
      assert.match(
        listed.error,
        /schedule(\.cron)?: '@every (1|999)ms' is more often than the minimum interval of 1 s/,
      );
      assert.deepEqual(await containersOf(h.config, name), []);
    }
    assert.deepEqual(
      h.gw.scheduler
        ?.scheduled()
        .map((s) => s.fn)
        .sort(),
      ['quick', 'slow'],
    );
  });

  test('a slow function on @every 1s has one scheduled run at a time: overrun ticks are skipped and counted', async () => {
    await sleep(6000);
    const metrics = await (await h.request('/metrics')).text();
    const ok = metricValue(metrics, 'titan_schedule_runs_total', {
      function: 'slow',
      outcome: 'ok',
    });
    const skipped = metricValue(metrics, 'titan_schedule_runs_total', {
      function: 'slow',
      outcome: 'skipped',
    });
    assert.ok(skipped >= 2, `skipped ${skipped}`);
    assert.ok(ok <= 3, `ran ${ok} in 6 s at 2.5 s each`);
    assert.ok((await info('slow')).pool.busy <= 1, 'never more than one run in flight');
  });

  test('an event topic, an emit or a trigger cannot name a tick claim key', async () => {
    const at = (Math.floor(Date.now() / 1000) + 30) * 1000; // a tick 30 s from now
    const res = await h.request(
      `/events/${encodeURIComponent(`titan.schedule:{slow}:tick:${at}`)}`,
      { method: 'POST', body: JSON.stringify({ type: 't', data: 1 }) },
    );
    assert.equal(res.status, 400);
    assert.equal((await errorOf(res)).code, 'invalid_topic');
    const emitted = await h.invoke('forger', { topic: `titan.schedule:{slow}:tick:${at}` });
    assert.notEqual(emitted.status, 200);
    assert.equal((await errorOf(emitted)).code, 'invalid_topic');
    assert.equal(
      await redis.exists(claimKey('slow', at)),
      0,
      'no key was written in the reserved namespace',
    );
    // A key_prefix-less topic that reads like the claim key of another deployment is refused as well.
    const other = await h.request(
      `/events/${encodeURIComponent(`other:titan.schedule:{slow}:last`)}`,
      { method: 'POST', body: JSON.stringify({ type: 't', data: 1 }) },
    );
    assert.equal(other.status, 400);

    const thief = await info('thief');
    assert.equal(thief.status, 'invalid');
    assert.match(thief.error, /matches only reserved names/);
  });

  test("the claim is the gateway's own: a tick already claimed in Redis does not run here", async () => {
    // What a second gateway sharing Redis does; here written by the test, as only Redis access could.
    const next = (Math.floor(Date.now() / 1000) + 3) * 1000;
    await redis.set(claimKey('quick', next), 'someone-else', 'PX', 60_000);
    const ran = async () =>
      (await readStream(redis, `${P}quick.runs`)).map((e) => JSON.parse(e.fields.data!) as string);
    await waitFor(
      'the ticks around it',
      async () => (await ran()).includes(new Date(next + 2000).toISOString()),
      15_000,
    );
    const runs = await ran();
    assert.ok(
      runs.includes(new Date(next - 1000).toISOString()) &&
        runs.includes(new Date(next + 1000).toISOString()),
      runs.join(', '),
    );
    assert.ok(
      !runs.includes(new Date(next).toISOString()),
      'the tick claimed elsewhere did not run here',
    );
    assert.equal(
      await redis.get(claimKey('quick', next)),
      'someone-else',
      'the claim was not overwritten',
    );
  });
});
