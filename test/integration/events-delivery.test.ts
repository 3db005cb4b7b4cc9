// Delivery guarantees with gateways as child processes: kill -9 between read and ack then restart,
// two gateways sharing one group, Redis restarted under a running gateway (with and without its
// data), and the command connection cut while the router has an entry in hand.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { fn } from '../helpers/harness.ts';
import {
  deletePrefix,
  json,
  metricValue,
  readStream,
  redisClient,
  sharedRedisUrl,
  startGatewayProcess,
  startRedisServer,
  uniquePrefix,
  waitFor,
  type GatewayProcess,
  type RedisServer,
  type StreamEntry,
} from '../helpers/events.ts';

const trigger = (topic: string) => `triggers:\n  - topic: ${topic}\n`;

describe('event delivery', () => {
  let redisUrl: string;
  let redis: Redis;
  const gateways: GatewayProcess[] = [];
  const prefixes: string[] = [];
  const servers: RedisServer[] = [];
  const clients: Redis[] = [];

  before(async () => {
    redisUrl = await sharedRedisUrl();
    redis = redisClient(redisUrl);
  });

  after(async () => {
    await Promise.allSettled(gateways.map((g) => g.close()));
    for (const c of clients) c.disconnect();
    await Promise.allSettled(servers.map((s) => s.close()));
    if (redis) {
      for (const p of prefixes) await deletePrefix(redis, p);
      redis.disconnect();
    }
  });

  const start = async (opts: Parameters<typeof startGatewayProcess>[0]) => {
    const g = await startGatewayProcess(opts);
    gateways.push(g);
    if (opts.redisUrl === redisUrl) prefixes.push(g.keyPrefix);
    return g;
  };
  const xadd = (r: Redis, key: string, type: string, data: unknown) =>
    r.xadd(key, '*', 'type', type, 'data', JSON.stringify(data)) as Promise<string>;
  const okResult = (r: Redis, P: string, fnName: string, eventId: string): Promise<StreamEntry> =>
    waitFor(`an ok result of ${fnName} for ${eventId}`, async () =>
      (await readStream(r, `${P}titan.results`)).find(
        (e) =>
          e.fields.function === fnName &&
          e.fields.event_id === eventId &&
          e.fields.outcome === 'ok',
      ),
    );
  const pendingCount = async (r: Redis, key: string) =>
    ((await r.xpending(key, 'plugins')) as [number])[0];

  test('kill -9 of the gateway between read and ack, then restart: every event is processed, none lost', async () => {
    const g = await start({
      redisUrl,
      functions: {
        slow: fn(
          `export default async (event) => { await new Promise((r) => setTimeout(r, event.data.ms)); return { n: event.data.n }; };`,
          trigger('jobs'),
        ),
      },
      events: { reclaim_idle_sec: 1 },
    });
    const P = g.keyPrefix;
    const queue = `${P}titan.q.slow`;
    const e1 = await xadd(redis, `${P}jobs`, 'job', { n: 1, ms: 4000 });
    // The worker has read e1 and is running it: pending on the function's queue, not acknowledged.
    await waitFor('e1 to be in flight', async () => (await pendingCount(redis, queue)) === 1);
    await g.kill('SIGKILL');
    assert.equal(
      (await readStream(redis, `${P}titan.results`)).length,
      0,
      'killed before the outcome was recorded',
    );
    assert.equal(
      await pendingCount(redis, queue),
      1,
      'the entry is still pending: read, never acknowledged',
    );

    // While it is down: two more events, one of them read off the topic by a consumer that then
    // "dies" too (pending on the topic's group), the other not read at all.
    const e2 = await xadd(redis, `${P}jobs`, 'job', { n: 2, ms: 0 });
    const e3 = await xadd(redis, `${P}jobs`, 'job', { n: 3, ms: 0 });
    const read = (await redis.call(
      'XREADGROUP',
      'GROUP',
      'plugins',
      'dead-gateway',
      'COUNT',
      1,
      'STREAMS',
      `${P}jobs`,
      '>',
    )) as unknown[];
    assert.ok(JSON.stringify(read).includes(e2), 'the dead consumer holds e2');
    assert.equal(await pendingCount(redis, `${P}jobs`), 1);

    await g.restart();
    for (const [id, n] of [
      [e1, 1],
      [e2, 2],
      [e3, 3],
    ] as const) {
      const r = await okResult(redis, P, 'slow', id);
      assert.deepEqual(JSON.parse(r.fields.result!), { n });
    }
    await waitFor(
      'nothing left pending',
      async () =>
        (await pendingCount(redis, queue)) === 0 && (await pendingCount(redis, `${P}jobs`)) === 0,
    );
    assert.equal(await redis.xlen(`${P}titan.dlq`), 0, 'nothing dead-lettered');
  });

  test('two gateways on one group split the work; each (event, function) pair runs exactly once', async () => {
    const prefix = uniquePrefix();
    const work = fn(
      `export default async (event) => { await new Promise((r) => setTimeout(r, 100)); return { n: event.data.n }; };`,
      trigger('work'),
    );
    const opts = {
      redisUrl,
      functions: { worka: work, workb: work },
      events: { key_prefix: prefix, max_inflight_per_function: 2 },
    };
    const [g1, g2] = await Promise.all([start(opts), start(opts)]);
    const ids: string[] = [];
    for (let n = 0; n < 20; n++) ids.push(await xadd(redis, `${prefix}work`, 'item', { n }));

    const pairs = ids.length * 2;
    await waitFor(
      `${pairs} results`,
      async () => (await redis.xlen(`${prefix}titan.results`)) >= pairs,
      60_000,
    );
    // Let anything that might still run a second time do so before counting.
    await waitFor('both queues drained', async () => {
      for (const q of ['worka', 'workb'])
        if ((await redis.xlen(`${prefix}titan.q.${q}`)) > 0) return false;
      return (await pendingCount(redis, `${prefix}work`)) === 0;
    });
    const results = await readStream(redis, `${prefix}titan.results`);
    const seen = new Map<string, number>();
    for (const r of results) {
      assert.equal(r.fields.outcome, 'ok', JSON.stringify(r.fields));
      const key = `${r.fields.function}/${r.fields.event_id}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    assert.equal(results.length, pairs);
    for (const id of ids)
      for (const f of ['worka', 'workb'])
        assert.equal(seen.get(`${f}/${id}`), 1, `${f} ran ${id} once`);

    let total = 0;
    for (const g of [g1, g2]) {
      const text = await (await g.request('/metrics')).text();
      const ran =
        metricValue(text, 'titan_invocations_total', { function: 'worka', outcome: 'ok' }) +
        metricValue(text, 'titan_invocations_total', { function: 'workb', outcome: 'ok' });
      assert.ok(ran > 0, `gateway ${g.pid} did some of the work`);
      total += ran;
    }
    assert.equal(total, pairs, 'together, exactly once per pair');
  });

  test('Redis restarted mid-run: HTTP keeps working, /healthz reports it, the trigger resumes', async () => {
    const server = await startRedisServer({ appendonly: true });
    servers.push(server);
    const r = redisClient(server.url);
    clients.push(r);
    const g = await start({
      redisUrl: server.url,
      functions: {
        beat: fn(
          `export default async (event, context) => ({ n: event.data.n, via: context.trigger.kind });`,
          trigger('beats'),
        ),
        slowbeat: fn(
          `export default async (event) => { await new Promise((r) => setTimeout(r, 1500)); return event.data; };`,
          trigger('slowbeats'),
        ),
      },
      // far beyond this test: only the gateway's own recovery, not XAUTOCLAIM, can finish what it had in hand
      events: { reclaim_idle_sec: 600 },
    });
    const P = g.keyPrefix;
    const b1 = await xadd(r, `${P}beats`, 'beat', { n: 1 });
    await okResult(r, P, 'beat', b1);
    // An invocation in flight when Redis goes away, finishing while it is away.
    const s1 = await xadd(r, `${P}slowbeats`, 'beat', 's1');
    await waitFor(
      's1 to be in flight',
      async () => (await pendingCount(r, `${P}titan.q.slowbeat`)) === 1,
    );

    await server.stop();
    const down = await waitFor('the trigger to notice', async () => {
      const h = await g.health();
      return h.body.triggers.state !== 'subscribed' ? h : undefined;
    });
    assert.equal(down.status, 200, 'the gateway itself is healthy');
    assert.equal(down.body.triggers.state, 'disconnected');
    const http = await json(
      g.request('/functions/beat/invoke', {
        method: 'POST',
        body: JSON.stringify({ data: { n: 99 } }),
      }),
    );
    assert.equal(http.status, 200, JSON.stringify(http.body));
    assert.deepEqual(http.body, { n: 99, via: 'http' });
    const publish = await json(
      g.request('/events/beats', {
        method: 'POST',
        body: JSON.stringify({ type: 'beat', data: { n: 0 } }),
      }),
    );
    assert.equal(publish.status, 503);
    assert.equal(publish.body.error.code, 'events_unavailable');
    await waitFor('s1 to finish while Redis is away', () => g.log().includes('entry left pending'));

    await server.start();
    // Published the moment Redis is back, before the gateway has necessarily reconnected.
    const b2 = await xadd(r, `${P}beats`, 'beat', { n: 2 });
    await waitFor(
      'the trigger to subscribe again',
      async () => (await g.health()).body.triggers.state === 'subscribed',
    );
    assert.deepEqual(JSON.parse((await okResult(r, P, 'beat', b2)).fields.result!), {
      n: 2,
      via: 'event',
    });
    const b3 = await json(
      g.request('/events/beats', {
        method: 'POST',
        body: JSON.stringify({ type: 'beat', data: { n: 3 } }),
      }),
    );
    assert.equal(b3.status, 201);
    await okResult(r, P, 'beat', b3.body.id);
    const ofB1 = (await readStream(r, `${P}titan.results`)).filter((e) => e.fields.event_id === b1);
    assert.equal(ofB1.length, 1, 'the event before the restart was not run again');
    // s1's outcome could not be recorded while Redis was away: it is run again and recorded once.
    assert.equal(JSON.parse((await okResult(r, P, 'slowbeat', s1)).fields.result!), 's1');
    assert.equal(
      (await readStream(r, `${P}titan.results`)).filter((e) => e.fields.function === 'slowbeat')
        .length,
      1,
    );
  });

  test('an event read just as the command connection drops is still routed, without waiting for XAUTOCLAIM', async () => {
    const server = await startRedisServer({ appendonly: false });
    servers.push(server);
    const r = redisClient(server.url);
    clients.push(r);
    const g = await start({
      redisUrl: server.url,
      functions: { beat: fn(`export default async (event) => event.data;`, trigger('beats')) },
      events: { reclaim_idle_sec: 600 },
    });
    const P = g.keyPrefix;
    const list = String(await r.client('LIST')).split('\n');
    const cmd = list
      .filter((l) => / name=titan-cmd /.test(l))
      .map((l) => /\bid=(\d+)/.exec(l)![1]!);
    assert.equal(cmd.length, 1, 'one command connection on this private Redis');
    // One transaction: the command connection is cut, then the event wakes the router's blocking
    // read, and the router has the entry in hand while it cannot write the fan-out.
    const reply = await r
      .multi()
      .client('KILL', 'ID', cmd[0]!)
      .xadd(`${P}beats`, '*', 'type', 'beat', 'data', '5')
      .exec();
    const id = reply![1]![1] as string;
    assert.equal(JSON.parse((await okResult(r, P, 'beat', id)).fields.result!), 5);
    assert.equal(await pendingCount(r, `${P}beats`), 0);
  });

  test('Redis restarted without its data: groups are recreated and what was published since is processed', async () => {
    const server = await startRedisServer({ appendonly: false });
    servers.push(server);
    const r = redisClient(server.url);
    clients.push(r);
    const g = await start({
      redisUrl: server.url,
      functions: { beat: fn(`export default async (event) => event.data;`, trigger('beats')) },
    });
    const P = g.keyPrefix;
    const b0 = await xadd(r, `${P}beats`, 'beat', 6);
    await okResult(r, P, 'beat', b0);
    await server.stop();
    await server.start();
    assert.equal(await r.exists(`${P}titan.results`), 0, 'the restarted Redis lost its data');
    // Published before the gateway has recreated its group: the stream is new, all of it is unread.
    const id = await xadd(r, `${P}beats`, 'beat', 7);
    await waitFor(
      'the trigger to subscribe again',
      async () => (await g.health()).body.triggers.state === 'subscribed',
    );
    assert.equal(JSON.parse((await okResult(r, P, 'beat', id)).fields.result!), 7);
  });
});
