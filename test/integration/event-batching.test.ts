// The event path's batched Redis writes, against a real Redis: the router's fan-out script (one
// command per batch: bound check, XADDs, DLQ, XACK) and the worker's outcome MULTI (one XACK and
// one XDEL for all outcomes of a turn). The delivery guarantees themselves are events-delivery.test.ts'.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { defaultConfig } from '../../runtime/config.ts';
import { fanOut } from '../../gateway/events/fan-out.ts';
import { Keys } from '../../gateway/events/keys.ts';
import { OutcomeWriter } from '../../gateway/events/outcomes.ts';
import {
  deletePrefix,
  readStream,
  redisClient,
  sharedRedisUrl,
  uniquePrefix,
} from '../helpers/events.ts';

describe('event batching', () => {
  let redis: Redis;
  const prefix = uniquePrefix();
  const cfg = { ...defaultConfig('/tmp').events, keyPrefix: prefix, queueMaxlen: 3 };
  const keys = new Keys(cfg);
  const limits = { group: cfg.group, queueMaxlen: cfg.queueMaxlen, dlqMaxlen: cfg.dlqMaxlen };
  const fanKeys = (topic: string) => ({
    topic: keys.topic(topic),
    dlq: keys.dlq,
    queue: keys.queue,
  });

  before(async () => {
    redis = redisClient(await sharedRedisUrl());
  });
  after(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  /** `n` entries on `topic`, read by the group (so pending, as the router holds them). */
  async function readBatch(topic: string, n: number) {
    await redis.call('XGROUP', 'CREATE', keys.topic(topic), cfg.group, '$', 'MKSTREAM');
    for (let i = 0; i < n; i++)
      await redis.xadd(keys.topic(topic), '*', 'type', 't', 'data', `{"i":${i}}`);
    const reply = (await redis.xreadgroup(
      'GROUP',
      cfg.group,
      'c',
      'COUNT',
      n,
      'STREAMS',
      keys.topic(topic),
      '>',
    )) as Array<[string, Array<[string, string[]]>]>;
    return reply[0]![1].map(([id]) => id);
  }

  const pendingCount = async (key: string) =>
    Number(((await redis.call('XPENDING', key, cfg.group)) as unknown[])[0]);

  test('one script call queues a batch for each of its functions, within their bounds, and acknowledges it', async () => {
    const ids = await readBatch('orders', 5);
    const job = (id: string) => ({
      kind: 'event',
      topic: 'orders',
      event_id: id,
      type: 't',
      data: '{}',
    });
    const full = await fanOut(redis, fanKeys('orders'), limits, [
      ...ids.slice(0, 4).map((id) => ({ id, fns: ['a', 'b'], job: job(id) })),
      {
        id: ids[4]!,
        dlq: {
          topic: 'orders',
          event_id: ids[4]!,
          function: '',
          error: '{"code":"invalid_event"}',
          attempts: '0',
        },
      },
    ]);
    assert.equal(await pendingCount(keys.topic('orders')), 0, 'the whole batch is acknowledged');
    for (const fn of ['a', 'b']) {
      const q = await readStream(redis, keys.queue(fn));
      assert.deepEqual(
        q.map((e) => e.fields.event_id),
        ids.slice(0, 3),
        `${fn}: the first queue_maxlen events, in order`,
      );
      assert.deepEqual(q[0]!.fields, job(ids[0]!));
    }
    assert.deepEqual(
      [...full],
      [
        ['a', 1],
        ['b', 1],
      ],
    );
    const dlq = await readStream(redis, keys.dlq);
    assert.equal(dlq.length, 3);
    // In batch order: the overloaded event's two entries, then the malformed one.
    assert.deepEqual(dlq[2]!.fields, {
      topic: 'orders',
      event_id: ids[4]!,
      function: '',
      error: '{"code":"invalid_event"}',
      attempts: '0',
    });
    const overloaded = dlq.slice(0, 2).map((e) => e.fields);
    assert.deepEqual(overloaded.map((f) => f.function).sort(), ['a', 'b']);
    for (const f of overloaded) {
      assert.equal(f.event_id, ids[3]);
      assert.equal(f.kind, 'event');
      assert.equal(f.attempts, '0');
      assert.deepEqual(JSON.parse(f.error!), {
        code: 'overloaded',
        message: `function '${f.function}' has 3 entries queued or running, the most events.queue_maxlen allows (3)`,
      });
    }
  });

  test('after Redis lost its script cache (a restart), the fan-out still runs', async () => {
    const ids = await readBatch('flushed', 1);
    await redis.script('FLUSH');
    await fanOut(redis, fanKeys('flushed'), limits, [
      { id: ids[0]!, fns: ['c'], job: { kind: 'event', event_id: ids[0]! } },
    ]);
    assert.equal((await readStream(redis, keys.queue('c'))).length, 1);
    assert.equal(await pendingCount(keys.topic('flushed')), 0);
  });

  test('outcomes of one turn: results written, entries acknowledged and deleted, counters only where given', async () => {
    const queue = keys.queue('w');
    await redis.call('XGROUP', 'CREATE', queue, cfg.group, '$', 'MKSTREAM');
    const jobs = [0, 1, 2].map((i) => ({
      kind: 'event',
      topic: 'x',
      event_id: `e${i}`,
      type: 't',
      data: '{}',
    }));
    for (const j of jobs) await redis.xadd(queue, '*', ...Object.entries(j).flat());
    const read = (await redis.xreadgroup(
      'GROUP',
      cfg.group,
      'c',
      'COUNT',
      10,
      'STREAMS',
      queue,
      '>',
    )) as Array<[string, Array<[string, string[]]>]>;
    const ids = read[0]![1].map(([id]) => id);
    const counter = keys.attempts('w', ids[2]!);
    await redis.set(counter, 2);
    const writer = new OutcomeWriter(redis, keys, cfg, 'w');
    await Promise.all([
      writer.write({
        id: ids[0]!,
        job: jobs[0]!,
        outcome: 'ok',
        invocationId: 'i0',
        body: '{"ok":0}',
        ms: 1,
      }),
      writer.write({
        id: ids[1]!,
        job: jobs[1]!,
        outcome: 'ok',
        invocationId: 'i1',
        body: '{"ok":1}',
        ms: 1,
      }),
      writer.write({
        id: ids[2]!,
        job: jobs[2]!,
        attemptsKey: counter,
        outcome: 'error',
        invocationId: 'i2',
        body: '{"code":"timeout"}',
        ms: 1,
        attempts: 3,
      }),
    ]);
    assert.equal(await redis.xlen(queue), 0, 'finished entries are deleted');
    assert.equal(await pendingCount(queue), 0, 'and acknowledged');
    assert.equal(await redis.exists(counter), 0);
    const results = await readStream(redis, keys.results);
    assert.deepEqual(
      results.map((r) => [r.fields.event_id, r.fields.outcome, r.fields.result ?? r.fields.error]),
      [
        ['e0', 'ok', '{"ok":0}'],
        ['e1', 'ok', '{"ok":1}'],
        ['e2', 'error', '{"code":"timeout"}'],
      ],
    );
    const dead = (await readStream(redis, keys.dlq)).filter((e) => e.fields.function === 'w');
    assert.deepEqual(
      dead.map((e) => [e.fields.event_id, e.fields.attempts]),
      [['e2', '3']],
    );
  });
});
