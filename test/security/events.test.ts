// Hostile function authors and event publishers against the event system (issue #10, items 1 and
// 7), on real gateways, the real engine and real Redis. Reserved names: triggers, publishes and emits
// into `titan.…` (results, DLQ, queues, attempts, async records) are refused with the exact reason,
// and `*` / `titan*` globs never see an internal stream. Bounds: async backlog (429 + Retry-After),
// emits per invocation, topic, queue and DLQ lengths, retry bookkeeping and stale consumers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { errorOf, fn, startHarness, type Harness } from '../helpers/harness.ts';
import {
  deletePrefix,
  json,
  readStream,
  redisClient,
  sharedRedisUrl,
  waitFor,
} from '../helpers/events.ts';
import { setTimeout as sleep } from 'node:timers/promises';

const trigger = (topic: string, extra = '') => `${extra}triggers:\n  - topic: "${topic}"\n`;
const post = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body) });
const WHY =
  "names starting with 'titan.' (in any case, also after a ':') are the runtime's own streams and keys";
const RESERVED_PUBLISH = (topic: string) =>
  `'${topic}' is one of the runtime's own streams or keys: names starting with 'titan.' (in any case, also after a ':') are reserved for its results, dead letters, work queues and bookkeeping; use another topic`;

/** Every key under a prefix, with its type. */
async function keysOf(redis: Redis, prefix: string): Promise<Array<{ key: string; type: string }>> {
  const out: Array<{ key: string; type: string }> = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) out.push({ key, type: await redis.type(key) });
  } while (cursor !== '0');
  return out;
}

/** XINFO GROUPS of the one group on `key`, as a record. */
async function groupOf(redis: Redis, key: string): Promise<Record<string, string>> {
  const [flat] = (await redis.xinfo('GROUPS', key)) as string[][];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat!.length; i += 2) out[flat![i]!] = String(flat![i + 1]);
  return out;
}

/** Redis trims `MAXLEN ~` streams by whole nodes only: a stream may exceed its bound by up to one node. */
async function nodeSlack(redis: Redis): Promise<number> {
  const [, n] = (await redis.config('GET', 'stream-node-max-entries')) as [string, string];
  return Number(n);
}

describe('security: reserved names in Redis', () => {
  let h: Harness;
  let redis: Redis;
  let P: string;

  before(async () => {
    redis = redisClient(await sharedRedisUrl());
    h = await startHarness(
      {
        victim: fn(
          `export default async (event) => ({ victim: event?.data ?? event });`,
          trigger('orders'),
        ),
        star: fn(`export default async (event) => ({ topic: event.topic });`, trigger('*')),
        tstar: fn(`export default async (event) => ({ topic: event.topic });`, trigger('titan*')),
        emitter: fn(
          `export default async (event, context) => { for (const e of event.emits) context.emit(e.topic, e.type, e.data); return 'emitted'; };`,
        ),
        relay: fn(
          `export default async (event, context) => { context.emit('titan.q.victim', 'forged', { from: 'relay' }); return 'relayed'; };`,
          trigger('relay.in', 'max_attempts: 3\n'),
        ),
        stealres: fn(`export default async (e) => e;`, trigger('titan.results')),
        stealq: fn(`export default async (e) => e;`, trigger('titan.q.victim')),
        stealatt: fn(`export default async (e) => e;`, trigger('titan.attempts')),
        stealall: fn(`export default async (e) => e;`, trigger('titan.*')),
        stealqs: fn(`export default async (e) => e;`, trigger('TITAN.q.*')),
      },
      { events: { topic_scan_sec: 1 } },
    );
    P = h.config.events.keyPrefix;
    await waitFor(
      'the triggers to subscribe',
      async () => (await json(h.request('/healthz'))).body.triggers.state === 'subscribed',
    );
  });

  after(async () => {
    await h?.close();
    if (redis) {
      await deletePrefix(redis, P);
      redis.disconnect();
    }
  });

  const info = async (name: string) => (await json(h.request(`/functions/${name}`))).body;
  const results = () => readStream(redis, `${P}titan.results`);

  /** The function is listed invalid with exactly `problem`, and invoking it is 409 function_invalid. */
  async function assertInvalid(name: string, problem: string): Promise<void> {
    const listed = await info(name);
    assert.equal(listed.status, 'invalid', JSON.stringify(listed));
    assert.equal(listed.error, `${name}/function.yaml: triggers[0].topic: ${problem}`);
    const res = await h.invoke(name, {});
    assert.equal(res.status, 409);
    assert.equal((await errorOf(res)).code, 'function_invalid');
  }

  test('a trigger on titan.results (every outcome of every function) is invalid', async () => {
    await assertInvalid(
      'stealres',
      `'titan.results' is reserved: ${WHY} (results, dead letters, other functions' queues), which no trigger may read`,
    );
  });

  test("a trigger on another function's queue, titan.q.victim, is invalid", async () => {
    await assertInvalid(
      'stealq',
      `'titan.q.victim' is reserved: ${WHY} (results, dead letters, other functions' queues), which no trigger may read`,
    );
  });

  test('a trigger on titan.attempts (retry bookkeeping) is invalid', async () => {
    await assertInvalid(
      'stealatt',
      `'titan.attempts' is reserved: ${WHY} (results, dead letters, other functions' queues), which no trigger may read`,
    );
  });

  test('globs that match only reserved names, titan.* and TITAN.q.*, are invalid', async () => {
    const glob = (t: string) =>
      `'${t}' matches only reserved names: ${WHY}, which no trigger may read (a wider glob such as '*' is allowed and never matches them)`;
    await assertInvalid('stealall', glob('titan.*'));
    await assertInvalid('stealqs', glob('TITAN.q.*'));
  });

  test('`*` and `titan*` deploy, and see ordinary topics only, never results, queues, the DLQ, attempts or async records', async () => {
    assert.equal((await info('star')).status, 'ready');
    assert.equal((await info('tstar')).status, 'ready');
    // Ordinary events, plus every kind of internal write: results, queue entries, an async record,
    // a dead letter with retries (relay's emit is refused), all under this gateway's prefix.
    const order = (
      await json(h.request('/events/orders', post({ type: 'created', data: { n: 1 } })))
    ).body.id as string;
    const news = (await json(h.request('/events/titanic.news', post({ type: 'sunk' })))).body
      .id as string;
    const asyncRes = await json(
      h.request('/functions/victim/invoke?async=true', post({ async: true })),
    );
    assert.equal(asyncRes.status, 202);
    await json(h.request('/events/relay.in', post({ type: 'go' })));
    await waitFor('the relay dead letter', async () =>
      (await readStream(redis, `${P}titan.dlq`)).some((e) => e.fields.function === 'relay'),
    );
    const seen = (fnName: string) =>
      results().then((rs) =>
        rs.filter((r) => r.fields.function === fnName).map((r) => r.fields.topic),
      );
    await waitFor('star on orders, titanic.news and relay.in', async () => {
      const topics = await seen('star');
      return ['orders', 'titanic.news', 'relay.in'].every((t) => topics.includes(t));
    });
    await waitFor('tstar on titanic.news', async () =>
      (await seen('tstar')).includes('titanic.news'),
    );
    assert.ok(
      (await results()).some((r) => r.fields.function === 'victim' && r.fields.event_id === order),
    );
    assert.ok(
      (await results()).some((r) => r.fields.function === 'tstar' && r.fields.event_id === news),
    );
    // Several glob rescans (topic_scan_sec: 1) later, nothing internal was ever read.
    await sleep(3000);
    assert.deepEqual([...new Set(await seen('star'))].sort(), [
      'orders',
      'relay.in',
      'titanic.news',
    ]);
    assert.deepEqual([...new Set(await seen('tstar'))], ['titanic.news']);
    const health = (await json(h.request('/healthz'))).body;
    assert.deepEqual(health.triggers.topics, ['orders', 'relay.in', 'titanic.news']);
    const dlq = await readStream(redis, `${P}titan.dlq`);
    assert.deepEqual(
      dlq.map((e) => [e.fields.function, e.fields.topic]),
      [['relay', 'relay.in']],
      'no malformed internal entry was ever routed',
    );
  });

  test('POST /events/titan.attempts is 400 invalid_topic and writes nothing', async () => {
    const res = await h.request('/events/titan.attempts', post({ type: 'x', data: 1 }));
    assert.equal(res.status, 400);
    const e = await errorOf(res);
    assert.equal(e.code, 'invalid_topic');
    assert.equal(e.message, RESERVED_PUBLISH('titan.attempts'));
    assert.equal(await redis.exists(`${P}titan.attempts`), 0);
  });

  test('POST /events/titan.invocation:<id> is 400 invalid_topic; the async record is untouched', async () => {
    const { body } = await json(h.request('/functions/victim/invoke?async=true', post({ a: 1 })));
    const id = body.invocationId as string;
    const before = await redis.type(`${P}titan.invocation:${id}`);
    const res = await h.request(`/events/titan.invocation:${id}`, post({ type: 'x' }));
    assert.equal(res.status, 400);
    const e = await errorOf(res);
    assert.equal(e.code, 'invalid_topic');
    assert.equal(e.message, RESERVED_PUBLISH(`titan.invocation:${id}`));
    assert.equal(before, 'hash');
    assert.equal(
      await redis.type(`${P}titan.invocation:${id}`),
      'hash',
      'still the async record, not a stream',
    );
    const done = await waitFor('the async call', async () => {
      const r = await json(h.request(`/invocations/${id}`));
      return r.body.status === 'succeeded' && r;
    });
    assert.deepEqual(done.body.result, { victim: { a: 1 } });
  });

  test('POST /events/TITAN.dlq (another case) and /events/titan.q.victim are 400 invalid_topic', async () => {
    const queued = await redis.xlen(`${P}titan.q.victim`);
    for (const topic of ['TITAN.dlq', 'titan.q.victim', 'Titan.Results']) {
      const res = await h.request(
        `/events/${topic}`,
        post({ type: 'created', data: { forged: true } }),
      );
      assert.equal(res.status, 400, topic);
      const e = await errorOf(res);
      assert.equal(e.code, 'invalid_topic', topic);
      assert.equal(e.message, RESERVED_PUBLISH(topic));
    }
    assert.equal(await redis.exists(`${P}TITAN.dlq`, `${P}Titan.Results`), 0);
    assert.equal(await redis.xlen(`${P}titan.q.victim`), queued, 'no work forged for victim');
  });

  test('a malformed topic is 400 invalid_topic too, before the body is read', async () => {
    const res = await h.request('/events/bad%20topic', { method: 'POST', body: '{not json' });
    assert.equal(res.status, 400);
    const e = await errorOf(res);
    assert.equal(e.code, 'invalid_topic');
    assert.match(e.message, /^invalid topic "bad topic": topics match/);
  });

  test("an emit into titan.q.victim is 400 invalid_topic naming the emit; the call's other emits are not published", async () => {
    const victimRuns = (await results()).filter((r) => r.fields.function === 'victim').length;
    const res = await h.invoke('emitter', {
      emits: [
        { topic: 'audit.ok', type: 'fine', data: 1 },
        { topic: 'titan.q.victim', type: 'created', data: { forged: true } },
      ],
    });
    assert.equal(res.status, 400);
    const e = await errorOf(res);
    assert.equal(e.code, 'invalid_topic');
    assert.equal(
      e.message,
      `function 'emitter' ran, but its emits were refused and none was published: emits[1]: ${RESERVED_PUBLISH('titan.q.victim')}`,
    );
    assert.equal(await redis.exists(`${P}audit.ok`), 0, 'nothing half-published');
    await sleep(500);
    assert.equal(
      (await results()).filter((r) => r.fields.function === 'victim').length,
      victimRuns,
      'victim never ran on forged work',
    );
  });

  test('an event-triggered function emitting into a reserved topic is dead-lettered once as invalid_topic, not retried', async () => {
    const dead = await waitFor('relay in the DLQ', async () =>
      (await readStream(redis, `${P}titan.dlq`)).find((e) => e.fields.function === 'relay'),
    );
    assert.equal(
      dead.fields.attempts,
      '1',
      'a refusal is not retried (the handler would run again for the same refusal)',
    );
    const err = JSON.parse(dead.fields.error!);
    assert.equal(err.code, 'invalid_topic');
    assert.equal(
      err.message,
      `function 'relay' ran, but its emits were refused and none was published: emits[0]: ${RESERVED_PUBLISH('titan.q.victim')}`,
    );
  });
});

describe('security: everything the event system writes is bounded', () => {
  let h: Harness;
  let redis: Redis;
  let P: string;
  let slack: number;
  const bounds = {
    topic_maxlen: 300,
    dlq_maxlen: 30,
    queue_maxlen: 3,
    async_backlog_max: 3,
    max_emits_per_invocation: 5,
    attempts_ttl_sec: 120,
    results_maxlen: 1000,
  };

  before(async () => {
    redis = redisClient(await sharedRedisUrl());
    slack = await nodeSlack(redis);
    h = await startHarness(
      {
        sleepy: fn(
          `export default async (event) => { await new Promise((r) => setTimeout(r, 1500)); return event; };`,
        ),
        drowsy: fn(
          `export default async (event) => { await new Promise((r) => setTimeout(r, 5000)); return event.id; };`,
          trigger('work'),
        ),
        failing: fn(
          `export default async () => { await new Promise((r) => setTimeout(r, 400)); throw new Error('always fails'); };`,
          trigger('fail', 'max_attempts: 3\n'),
        ),
        emitter: fn(
          `export default async (event, context) => { for (let i = 0; i < event.n; i++) context.emit(event.topic, event.type ?? 'x', { i }); return event.n; };`,
        ),
        // Rewrites the envelope as it is serialised: emits that no honest bootstrap would send.
        forger: fn(`
          export default async (event, context) => {
            context.emit('forged.ok', 'x', 1);
            const stringify = JSON.stringify;
            JSON.stringify = (v, ...rest) => {
              JSON.stringify = stringify;
              return stringify(v && typeof v === 'object' && 'emits' in v ? { ...v, emits: event.emits } : v, ...rest);
            };
            return 'forged';
          };`),
      },
      { events: { ...bounds, max_inflight_per_function: 1, reclaim_idle_sec: 1 } },
    );
    P = h.config.events.keyPrefix;
    await waitFor(
      'the triggers to subscribe',
      async () => (await json(h.request('/healthz'))).body.triggers.state === 'subscribed',
    );
  });

  after(async () => {
    await h?.close();
    if (redis) {
      await deletePrefix(redis, P);
      redis.disconnect();
    }
  });

  test('async calls past async_backlog_max are 429 overloaded with Retry-After, atomically, and accepted again once drained', async () => {
    const calls = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        h.request('/functions/sleepy/invoke?async=true', post({ i })),
      ),
    );
    const accepted = calls.filter((r) => r.status === 202);
    const refused = calls.filter((r) => r.status !== 202);
    assert.equal(accepted.length, 3, 'exactly the bound, though all 8 raced');
    for (const r of refused) {
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '1');
      const e = await errorOf(r);
      assert.equal(e.code, 'overloaded');
      assert.equal(
        e.message,
        "function 'sleepy' has 3 invocations queued or running, the most events.async_backlog_max allows (3); try again later",
      );
    }
    assert.equal(await redis.xlen(`${P}titan.q.sleepy`), 3);
    // Nothing of a refused call is left behind: three records, one per accepted call.
    const records = (await keysOf(redis, `${P}titan.invocation:`)).length;
    assert.equal(records, 3);
    await waitFor(
      'the backlog to drain',
      async () => (await redis.xlen(`${P}titan.q.sleepy`)) === 0,
      30_000,
    );
    const again = await h.request('/functions/sleepy/invoke?async=true', post({ again: true }));
    assert.equal(again.status, 202, 'the bound counts work not yet done, not work ever queued');
  });

  test('more emits than max_emits_per_invocation: 502 invalid_response, and none is published', async () => {
    const res = await h.invoke('emitter', { topic: 'flood.emits', n: 6 });
    assert.equal(res.status, 502);
    const e = await errorOf(res);
    assert.equal(e.code, 'invalid_response');
    assert.equal(
      e.message,
      "function 'emitter' ran, but its emits were refused and none was published: it emitted 6 events, more than events.max_emits_per_invocation (5)",
    );
    assert.equal(await redis.exists(`${P}flood.emits`), 0);
    const ok = await h.invoke('emitter', { topic: 'flood.emits', n: 5 });
    assert.equal(ok.status, 200);
    assert.equal(await redis.xlen(`${P}flood.emits`), 5);
  });

  test('an emit type past 200 characters is 502 invalid_response', async () => {
    const res = await h.invoke('emitter', { topic: 'long.types', n: 1, type: 't'.repeat(201) });
    assert.equal(res.status, 502);
    const e = await errorOf(res);
    assert.equal(e.code, 'invalid_response');
    assert.equal(
      e.message,
      "function 'emitter' ran, but its emits were refused and none was published: emits[0].type must be a string of 1 to 200 characters (got 201 characters)",
    );
    assert.equal(await redis.exists(`${P}long.types`), 0);
  });

  // (An envelope whose emits is not a list at all is refused as it is opened: runtime/deployment.ts.)
  test('forged emits (a numeric topic, a missing type, entries that are not mappings) are 502 invalid_response', async () => {
    const cases: Array<[unknown, string]> = [
      [
        [{ topic: 'fine.topic', type: 'x' }, null],
        'emits[1] must be a mapping of topic, type and data (got null)',
      ],
      [[{ topic: 7, type: 'x' }], 'emits[0].topic must be a string (got number)'],
      [
        [{ topic: 'fine.topic', type: 'x' }, { topic: 'a.b' }],
        'emits[1].type must be a string of 1 to 200 characters (got undefined)',
      ],
      [['titan.q.sleepy'], 'emits[0] must be a mapping of topic, type and data (got string)'],
    ];
    for (const [emits, why] of cases) {
      const res = await h.invoke('forger', { emits });
      assert.equal(res.status, 502, why);
      const e = await errorOf(res);
      assert.equal(e.code, 'invalid_response', why);
      assert.equal(
        e.message,
        `function 'forger' ran, but its emits were refused and none was published: ${why}`,
      );
    }
    assert.equal(await redis.exists(`${P}fine.topic`, `${P}forged.ok`), 0);
  });

  test('a topic stream stays within topic_maxlen however many events are published', async () => {
    const published = 2 * (bounds.topic_maxlen + slack);
    for (let i = 0; i < published; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          h.request('/events/flood.topic', post({ type: 'flood', data: { n: i + k } })),
        ),
      );
      assert.deepEqual([...new Set(batch.map((r) => r.status))], [201]);
    }
    const len = await redis.xlen(`${P}flood.topic`);
    assert.ok(
      len >= bounds.topic_maxlen && len <= bounds.topic_maxlen + slack,
      `XLEN ${len} after ${published} publishes: bound ${bounds.topic_maxlen} (+${slack})`,
    );
    const [[, newest]] = (await redis.xrevrange(`${P}flood.topic`, '+', '-', 'COUNT', 1)) as Array<
      [string, string[]]
    >;
    assert.equal(
      JSON.parse(newest[newest.indexOf('data') + 1]!).n,
      published - 1,
      'the newest events are the ones kept',
    );
  });

  test("events past a function's queue_maxlen go to the DLQ as overloaded; its queue stays within the bound", async () => {
    const events = 20;
    await Promise.all(
      Array.from({ length: events }, (_, n) =>
        h.request('/events/work', post({ type: 'job', data: { n } })),
      ),
    );
    const dead = await waitFor('the overflow in the DLQ', async () => {
      const d = (await readStream(redis, `${P}titan.dlq`)).filter(
        (e) => e.fields.function === 'drowsy',
      );
      return d.length >= events - bounds.queue_maxlen && d;
    });
    assert.equal(
      dead.length,
      events - bounds.queue_maxlen,
      'every event the queue could not take is in the DLQ, none lost',
    );
    const err = JSON.parse(dead[0]!.fields.error!);
    assert.equal(err.code, 'overloaded');
    assert.equal(
      err.message,
      "function 'drowsy' has 3 entries queued or running, the most events.queue_maxlen allows (3)",
    );
    assert.equal(dead[0]!.fields.topic, 'work');
    assert.equal(await redis.xlen(`${P}titan.q.drowsy`), bounds.queue_maxlen);
  });

  test('the DLQ stays within dlq_maxlen under a flood of dead letters', async () => {
    const events = bounds.dlq_maxlen + 2 * slack;
    for (let i = 0; i < events; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, events - i) }, (_, k) =>
          h.request('/events/work', post({ type: 'job', data: { n: i + k } })),
        ),
      );
    }
    await waitFor('the flood to be routed', async () => {
      const g = await groupOf(redis, `${P}work`);
      return g.lag === '0' && g.pending === '0';
    });
    const len = await redis.xlen(`${P}titan.dlq`);
    assert.ok(
      len >= bounds.dlq_maxlen && len <= bounds.dlq_maxlen + slack,
      `DLQ XLEN ${len} after ${events} more dead letters: bound ${bounds.dlq_maxlen} (+${slack})`,
    );
    assert.ok((await redis.xlen(`${P}titan.q.drowsy`)) <= bounds.queue_maxlen);
  });

  test('retry counts are removed when an entry finishes, and expire (attempts_ttl_sec) while it retries', async () => {
    const { body } = await json(h.request('/events/fail', post({ type: 'boom' })));
    const key = await waitFor(
      'a retry count',
      async () => (await keysOf(redis, `${P}titan.attempts:`))[0]?.key,
      20_000,
      20,
    );
    const ttl = await redis.ttl(key);
    assert.ok(ttl > 0 && ttl <= bounds.attempts_ttl_sec, `TTL ${ttl}`);
    assert.match(key, new RegExp(`^${P}titan\\.attempts:failing:\\d+-\\d+$`));
    const dead = await waitFor('failing in the DLQ', async () =>
      (await readStream(redis, `${P}titan.dlq`)).find(
        (e) => e.fields.function === 'failing' && e.fields.event_id === body.id,
      ),
    );
    assert.equal(dead.fields.attempts, '3');
    assert.deepEqual(
      await keysOf(redis, `${P}titan.attempts:`),
      [],
      'no retry count outlives its entry',
    );
  });

  test('a consumer left behind (a gateway that is gone) is deleted once idle; the live one stays', async () => {
    const queue = `${P}titan.q.sleepy`;
    await redis.call('XGROUP', 'CREATECONSUMER', queue, 'plugins', 'gone-gateway-1');
    const names = async () =>
      ((await redis.xinfo('CONSUMERS', queue, 'plugins')) as string[][]).map((c) => c[1]);
    assert.ok((await names()).includes('gone-gateway-1'));
    await waitFor(
      'the stale consumer to be deleted',
      async () => !(await names()).includes('gone-gateway-1'),
      20_000,
      200,
    );
    assert.ok((await names()).includes(h.gw.events.consumer), 'the gateway keeps its own consumer');
  });

  test('every key under the prefix has a bound: streams within their MAXLEN, everything else a TTL; the gateway is healthy', async () => {
    const keys = await keysOf(redis, P);
    assert.ok(keys.length > 0);
    for (const { key, type } of keys) {
      const name = key.slice(P.length);
      if (type === 'stream') {
        const len = await redis.xlen(key);
        const bound =
          name === 'titan.dlq'
            ? bounds.dlq_maxlen + slack
            : name === 'titan.results'
              ? bounds.results_maxlen + slack
              : name.startsWith('titan.q.')
                ? bounds.queue_maxlen
                : bounds.topic_maxlen + slack;
        assert.ok(len <= bound, `${name}: XLEN ${len} > ${bound}`);
      } else {
        const ttl = await redis.ttl(key);
        assert.ok(ttl > 0, `${name} (${type}) has no TTL (${ttl})`);
      }
    }
    const health = await json(h.request('/healthz'));
    assert.equal(health.status, 200);
    assert.equal(health.body.triggers.state, 'subscribed');
  });
});
