// The event system on a real Redis Cluster (test/helpers/redis-cluster.ts: 3 masters + 3 replicas)
// with a real in-process gateway and the real engine: every event delivered, glob triggers finding
// topics on all three masters, async results, the DLQ and replay, and a master failover mid-burst
// that loses no acknowledged event and needs no gateway restart. One cluster for the whole file.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Cluster } from 'ioredis';
import { fn, startHarness, type Harness } from '../helpers/harness.ts';
import { json, readStream, waitFor } from '../helpers/events.ts';
import { startRedisCluster, type RedisClusterFixture } from '../helpers/redis-cluster.ts';
import type { Redis } from 'ioredis';

const trigger = (topic: string, extra = '') => `${extra}triggers:\n  - topic: "${topic}"\n`;

describe('event system on a Redis Cluster', () => {
  let rc: RedisClusterFixture;
  let h: Harness;
  let c: Cluster;
  let P: string;
  /** three topics matching `spread.*` whose streams live on three different masters */
  const spread: string[] = [];

  before(async () => {
    rc = await startRedisCluster();
    c = rc.client();
    // The gateway takes REDIS_URL over its config; this file runs in a process of its own.
    process.env.REDIS_URL = rc.url;
    h = await startHarness({
      counter: fn(`export default async (event) => event.data;`, trigger('orders*')),
      globber: fn(`export default async (event) => event.topic;`, trigger('spread.*')),
      adder: fn(`export default async (e) => ({ sum: e.a + e.b });`),
      failing: fn(
        `export default async () => { throw new Error('always'); };`,
        trigger('doomed', 'max_attempts: 1\n'),
      ),
    });
    P = h.config.events.keyPrefix;
    const byMaster = new Map<number, string>();
    for (let i = 0; byMaster.size < 3 && i < 200; i++) {
      const port = await rc.masterOf(`${P}spread.t${i}`);
      if (!byMaster.has(port)) byMaster.set(port, `spread.t${i}`);
    }
    spread.push(...byMaster.values());
    await waitFor('the gateway to subscribe', async () => {
      const res = await json(h.request('/healthz'));
      return res.body?.triggers?.state === 'subscribed';
    });
  });

  after(async () => {
    await h?.close();
    await rc?.teardown();
  });

  const publish = (topic: string, data: unknown) =>
    json(
      h.request(`/events/${topic}`, {
        method: 'POST',
        body: JSON.stringify({ type: 'created', data }),
      }),
    );
  const results = async (fnName: string) =>
    (await readStream(c as unknown as Redis, `${P}titan.results`)).filter(
      (e) => e.fields.function === fnName,
    );

  test('every event published is delivered, once; queues are {fn}-tagged', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const res = await publish('orders', { n: i });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids.add(res.body.id);
    }
    await waitFor('40 results', async () => (await results('counter')).length >= 40);
    const got = (await results('counter')).map((e) => e.fields.event_id);
    assert.equal(got.length, 40, 'no event twice');
    assert.deepEqual(new Set(got), ids);
    // The queue carries the function's hash tag: its attempts counters share its slot.
    assert.equal(await c.exists(`${P}titan.q.{counter}`), 1);
    assert.equal(await rc.slotOf(`${P}titan.q.{counter}`), await rc.slotOf('counter'));
  });

  test('a glob trigger finds topics on all three masters', async () => {
    assert.equal(spread.length, 3);
    const masters = new Set(await Promise.all(spread.map((t) => rc.masterOf(`${P}${t}`))));
    assert.equal(masters.size, 3, 'the three topics are on three masters');
    for (const t of spread) assert.equal((await publish(t, { t })).status, 201);
    await waitFor('the glob function to see all three topics', async () => {
      const seen = new Set((await results('globber')).map((e) => e.fields.topic));
      return spread.every((t) => seen.has(t));
    });
  });

  test('an async invocation is queued and its result read back by id', async () => {
    const res = await json(
      h.request('/functions/adder/invoke?async=true', { method: 'POST', body: '{"a":2,"b":40}' }),
    );
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const done = await waitFor('the async result', async () => {
      const r = await json(h.request(`/invocations/${res.body.invocationId}`));
      return r.body.status === 'succeeded' ? r.body : undefined;
    });
    assert.deepEqual(done.result, { sum: 42 });
  });

  test('a failing event is dead-lettered; replay queues it again and removes it from the DLQ', async () => {
    const pub = await publish('doomed', { x: 1 });
    const dead = await waitFor('the DLQ entry', async () =>
      (await readStream(c as unknown as Redis, `${P}titan.dlq`)).find(
        (e) => e.fields.event_id === pub.body.id,
      ),
    );
    assert.equal(dead.fields.function, 'failing');
    const replay = await json(h.request(`/dlq/${dead.id}/replay`, { method: 'POST' }));
    assert.equal(replay.status, 200, JSON.stringify(replay.body));
    // It fails again (the function is unchanged): a new DLQ entry, the old one gone.
    await waitFor('the replayed entry to fail again', async () => {
      const dlq = await readStream(c as unknown as Redis, `${P}titan.dlq`);
      const mine = dlq.filter((e) => e.fields.event_id === pub.body.id);
      return mine.length === 1 && mine[0]!.id !== dead.id;
    });
  });

  test('a master failover mid-burst loses no acknowledged event; the gateway carries on', async () => {
    // A topic on another master than the queue: both failovers below find a replica to promote.
    const queueMaster = await rc.masterOf(`${P}titan.q.{counter}`);
    let topic = 'orders';
    for (let i = 0; (await rc.masterOf(`${P}${topic}`)) === queueMaster; i++) topic = `orders.${i}`;
    const acked = new Set<string>();
    const refused: number[] = [];
    let killed: Promise<number> | undefined;
    for (let i = 0; i < 120; i++) {
      // Halfway: the master holding the function's queue dies while events keep coming.
      if (i === 40) killed = rc.killMaster(`${P}titan.q.{counter}`);
      if (i === 80) await killed;
      const res = await publish(topic, { burst: i }).catch(() => undefined);
      if (res?.status === 201) acked.add(res.body.id);
      else refused.push(res?.status ?? 0);
      if (res?.status !== 201) await new Promise((r) => setTimeout(r, 50)); // refused while the cluster fails over
    }
    await killed;
    // A publish the failover refuses says so (503 events_unavailable), never a bare 500.
    assert.deepEqual(
      refused.filter((s) => s !== 503),
      [],
    );
    assert.ok(acked.size >= 60, `most publishes acknowledged (${acked.size})`);
    await waitFor(
      'a result for every acknowledged event',
      async () => {
        const seen = new Set((await results('counter')).map((e) => e.fields.event_id));
        return [...acked].every((id) => seen.has(id));
      },
      60_000,
    );
    // And the topic's own master can go too: still routed, no restart.
    await rc.killMaster(`${P}${topic}`);
    const late = await waitFor('a publish after the second failover', async () => {
      const r = await publish(topic, { late: true });
      return r.status === 201 ? r.body.id : undefined;
    });
    await waitFor('the late event', async () =>
      (await results('counter')).some((e) => e.fields.event_id === late),
    );
  });
});
