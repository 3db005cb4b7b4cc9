// The event system on a real Sentinel set (test/helpers/redis-sentinel.ts: primary, replica, three
// sentinels) with a real in-process gateway and the real engine: events delivered, async results,
// and the primary killed mid-burst: no acknowledged event lost, the gateway follows the new primary.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { fn, startHarness, type Harness } from '../helpers/harness.ts';
import { json, readStream, waitFor } from '../helpers/events.ts';
import { startRedisSentinel, type RedisSentinelFixture } from '../helpers/redis-sentinel.ts';

describe('event system on Redis Sentinel', () => {
  let rs: RedisSentinelFixture;
  let h: Harness;
  let P: string;
  const clients: Redis[] = [];

  before(async () => {
    rs = await startRedisSentinel();
    // The gateway takes REDIS_URL over its config; this file runs in a process of its own.
    process.env.REDIS_URL = rs.url;
    h = await startHarness({
      counter: fn(`export default async (event) => event.data;`, 'triggers:\n  - topic: orders\n'),
      adder: fn(`export default async (e) => ({ sum: e.a + e.b });`),
    });
    P = h.config.events.keyPrefix;
    await waitFor('the gateway to subscribe', async () => {
      const res = await json(h.request('/healthz'));
      return res.body?.triggers?.state === 'subscribed';
    });
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    await h?.close();
    await rs?.teardown();
  });

  /** The current primary, for assertions (a new client after a failover). */
  const primary = async () => {
    const r = new Redis({ host: '127.0.0.1', port: await rs.primary(), maxRetriesPerRequest: 1 });
    r.on('error', () => {});
    clients.push(r);
    return r;
  };
  const publish = (data: unknown) =>
    json(
      h.request('/events/orders', { method: 'POST', body: JSON.stringify({ type: 't', data }) }),
    );
  const resultIds = async () =>
    new Set(
      (await readStream(await primary(), `${P}titan.results`))
        .filter((e) => e.fields.function === 'counter')
        .map((e) => e.fields.event_id),
    );

  test('events delivered once; an async result read back by id', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await publish({ i })).body.id);
    await waitFor('20 results', async () => (await resultIds()).size >= 20);
    assert.deepEqual([...(await resultIds())].sort(), ids.sort());
    const res = await json(
      h.request('/functions/adder/invoke?async=true', { method: 'POST', body: '{"a":1,"b":2}' }),
    );
    assert.equal(res.status, 202);
    const done = await waitFor('the async result', async () => {
      const r = await json(h.request(`/invocations/${res.body.invocationId}`));
      return r.body.status === 'succeeded' ? r.body : undefined;
    });
    assert.deepEqual(done.result, { sum: 3 });
  });

  test('the primary killed mid-burst: every acknowledged event is processed, no restart', async () => {
    const acked = new Set<string>();
    const refused: number[] = [];
    let killed: Promise<number> | undefined;
    for (let i = 0; i < 90; i++) {
      if (i === 30) killed = rs.killPrimary();
      if (i === 60) await killed;
      const res = await publish({ burst: i });
      if (res.status === 201) acked.add(res.body.id);
      else {
        refused.push(res.status);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await killed;
    assert.deepEqual(
      refused.filter((s) => s !== 503),
      [],
      'a refused publish is 503',
    );
    // The gateway follows the new primary by itself (ioredis asks the sentinels; it backs off to
    // 2 s between reconnects, so the first publishes after the promotion may still be refused).
    const late = await waitFor('a publish to the new primary', async () => {
      const r = await publish({ late: true });
      return r.status === 201 ? (r.body.id as string) : undefined;
    });
    acked.add(late);
    await waitFor(
      'a result for every acknowledged event',
      async () => {
        const seen = await resultIds();
        return [...acked].every((id) => seen.has(id));
      },
      60_000,
    );
  });
});
