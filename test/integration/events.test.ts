// Event triggers end to end on one in-process gateway, the real engine and real Redis: matching,
// fan-out, the handler's event and trigger, emit, retries and the DLQ, malformed entries, publishing,
// DLQ replay and glob topics. Every key lives under the harness's own prefix.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { fn, startHarness, type Harness } from '../helpers/harness.ts';
import {
  deletePrefix,
  json,
  metricValue,
  readStream,
  redisClient,
  sharedRedisUrl,
  uniquePrefix,
  waitFor,
  type StreamEntry,
} from '../helpers/events.ts';

const triggers = (...ts: Array<{ topic: string; event_type?: string }>) =>
  'triggers:\n' +
  ts
    .map(
      (t) =>
        `  - topic: "${t.topic}"\n${t.event_type ? `    event_type: "${t.event_type}"\n` : ''}`,
    )
    .join('');

describe('event triggers', () => {
  let h: Harness;
  let redis: Redis;
  const P = uniquePrefix();
  const history: Record<string, string> = {};

  before(async () => {
    const url = await sharedRedisUrl();
    redis = redisClient(url);
    // History from before the gateway subscribed: a new subscription must not replay it.
    history.orders = (await redis.xadd(
      `${P}orders`,
      '*',
      'type',
      'created',
      'data',
      '{"order":0}',
    ))!;
    history.chat = (await redis.xadd(
      `${P}chat.old`,
      '*',
      'type',
      'message',
      'data',
      '{"old":true}',
    ))!;
    h = await startHarness(
      {
        onorder: fn(
          `export default async (event, context) => {
             context.emit('orders.audit', 'seen', { order: event?.data?.order ?? null });
             return { event, trigger: context.trigger };
           };`,
          triggers({ topic: 'orders', event_type: 'created' }),
        ),
        anyorder: fn(
          `export default async (event) => ({ type: event.type });`,
          triggers({ topic: 'orders' }),
        ),
        typed: fn(
          `export default async (event) => event.type;`,
          triggers({ topic: 'typed', event_type: 'wanted' }),
        ),
        flaky: fn(
          `export default async () => { throw new Error('card declined'); };`,
          `max_attempts: 2\n${triggers({ topic: 'payments' })}`,
        ),
        payok: fn(
          `export default async (event) => ({ paid: event.data.amount });`,
          triggers({ topic: 'payments', event_type: 'charge' }),
        ),
        mal: fn(
          `export default async (event) => ({ got: event.data });`,
          triggers({ topic: 'raw' }),
        ),
        picky: fn(
          `export default async (event) => { throw Object.assign(new Error('amount must be a number'), { status: 400 }); };`,
          `max_attempts: 3\n${triggers({ topic: 'refunds' })}`,
        ),
        chatter: fn(
          `export default async (event) => ({ topic: event.topic, type: event.type });`,
          triggers({ topic: 'chat.*', event_type: '*' }),
        ),
        fixme: fn(
          `export default async () => { throw new Error('not fixed yet'); };`,
          `version: "1"\nmax_attempts: 1\n${triggers({ topic: 'invoices' })}`,
        ),
      },
      { events: { topic_scan_sec: 1, key_prefix: P } },
    );
    assert.equal(h.config.events.keyPrefix, P);
    await waitFor(
      'the trigger to subscribe',
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

  const xadd = (topic: string, fields: Record<string, string>) =>
    redis.xadd(P + topic, '*', ...Object.entries(fields).flat()) as Promise<string>;
  const results = () => readStream(redis, `${P}titan.results`);
  const dlq = () => readStream(redis, `${P}titan.dlq`);
  // Entry ids are unique per stream only: two topics can hold the same id, so chatter (a glob) also names the topic.
  const resultsFor = async (fnName: string, eventId: string, topic?: string) =>
    (await results()).filter(
      (e) =>
        e.fields.function === fnName &&
        e.fields.event_id === eventId &&
        (topic === undefined || e.fields.topic === topic),
    );
  const resultFor = (fnName: string, eventId: string, topic?: string): Promise<StreamEntry> =>
    waitFor(
      `${fnName}'s result for event ${eventId}`,
      async () => (await resultsFor(fnName, eventId, topic))[0],
    );
  const metrics = async () => (await h.request('/metrics')).text();
  /** Queue entries are deleted once done: an empty queue means everything routed to it has run. */
  const drained = (fnName: string) =>
    waitFor(
      `${fnName}'s queue to drain`,
      async () => (await redis.xlen(`${P}titan.q.${fnName}`)) === 0,
    );

  test('an event runs the matching function; the handler gets event and context.trigger; the outcome lands on titan.results', async () => {
    const time = '2024-05-01T10:00:00.000Z';
    const id = await xadd('orders', {
      type: 'created',
      data: '{"order":1,"items":["a"]}',
      source: 'shop',
      time,
    });
    const r = await resultFor('onorder', id);
    assert.equal(r.fields.topic, 'orders');
    assert.equal(r.fields.outcome, 'ok');
    assert.match(r.fields.invocation_id!, /^[0-9a-f-]{36}$/);
    assert.ok(
      Number(r.fields.duration_ms) >= 0,
      `duration_ms is a number (${r.fields.duration_ms})`,
    );
    assert.equal(r.fields.error, undefined);
    const result = JSON.parse(r.fields.result!);
    assert.deepEqual(result.event, {
      id,
      topic: 'orders',
      type: 'created',
      data: { order: 1, items: ['a'] },
      source: 'shop',
      time,
    });
    assert.deepEqual(result.trigger, {
      kind: 'event',
      topic: 'orders',
      eventType: 'created',
      messageId: id,
    });

    // source and time are optional: absent in the entry, absent in the handler's event
    const bare = await xadd('orders', { type: 'created', data: '{"order":2}' });
    const r2 = JSON.parse((await resultFor('onorder', bare)).fields.result!);
    assert.deepEqual(r2.event, { id: bare, topic: 'orders', type: 'created', data: { order: 2 } });
  });

  test('fan-out: one event runs each matching function exactly once', async () => {
    const id = await xadd('orders', { type: 'created', data: '{"order":3}' });
    await resultFor('onorder', id);
    await resultFor('anyorder', id);
    // a later event on the same topic is done by both: anything still queued for this one would be too
    const later = await xadd('orders', { type: 'created', data: '{"order":4}' });
    await resultFor('onorder', later);
    await resultFor('anyorder', later);
    assert.equal((await resultsFor('onorder', id)).length, 1);
    assert.equal((await resultsFor('anyorder', id)).length, 1);
    assert.deepEqual(JSON.parse((await resultsFor('anyorder', id))[0]!.fields.result!), {
      type: 'created',
    });
  });

  test('event types a trigger does not name are ignored by it', async () => {
    const ignored = await xadd('orders', { type: 'deleted', data: '{"order":5}' });
    const next = await xadd('orders', { type: 'created', data: '{"order":6}' });
    // anyorder (no event_type) takes every type
    assert.deepEqual(JSON.parse((await resultFor('anyorder', ignored)).fields.result!), {
      type: 'deleted',
    });
    // `deleted` was routed before `next`; once onorder did `next` and its queue is empty, nothing is left
    await resultFor('onorder', next);
    await drained('onorder');
    assert.deepEqual(await resultsFor('onorder', ignored), []);

    // on a topic where no trigger takes the type, the entry is acknowledged and queued nowhere
    const unwanted = await xadd('typed', { type: 'unwanted', data: '1' });
    const wanted = await xadd('typed', { type: 'wanted', data: '2' });
    assert.equal(JSON.parse((await resultFor('typed', wanted)).fields.result!), 'wanted');
    await drained('typed');
    assert.deepEqual(await resultsFor('typed', unwanted), []);
    const [pending] = (await redis.xpending(`${P}typed`, 'plugins')) as [number];
    assert.equal(pending, 0, 'the ignored entry is acknowledged');
    assert.equal(
      metricValue(await metrics(), 'titan_events_total', { topic: 'typed', outcome: 'ignored' }),
      1,
    );
  });

  test('context.emit lands on its topic with source function:<name>, for event and HTTP invocations', async () => {
    const id = await xadd('orders', { type: 'created', data: '{"order":7}' });
    await resultFor('onorder', id);
    const emitted = await waitFor('the emitted event', async () =>
      (await readStream(redis, `${P}orders.audit`)).find((e) => e.fields.data === '{"order":7}'),
    );
    assert.equal(emitted.fields.type, 'seen');
    assert.equal(emitted.fields.source, 'function:onorder');
    assert.ok(
      !Number.isNaN(Date.parse(emitted.fields.time!)),
      `time is a timestamp (${emitted.fields.time})`,
    );

    const res = await json(h.invoke('onorder', { data: { order: 8 } }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.trigger, { kind: 'http' });
    const viaHttp = (await readStream(redis, `${P}orders.audit`)).find(
      (e) => e.fields.data === '{"order":8}',
    );
    assert.ok(viaHttp, 'an HTTP invocation emits too (appended before the response)');
    assert.equal(viaHttp.fields.source, 'function:onorder');
  });

  test('a failing function is retried, then dead-lettered; the other matching function ran exactly once', async () => {
    const id = await xadd('payments', { type: 'charge', data: '{"amount":5}', source: 'shop' });
    const dead = await waitFor('the DLQ entry', async () =>
      (await dlq()).find((e) => e.fields.topic === 'payments' && e.fields.event_id === id),
    );
    const { fields } = dead;
    assert.equal(fields.function, 'flaky');
    assert.equal(fields.attempts, '2');
    assert.equal(fields.topic, 'payments');
    assert.equal(fields.type, 'charge');
    assert.equal(fields.data, '{"amount":5}');
    assert.equal(fields.source, 'shop');
    const error = JSON.parse(fields.error!);
    assert.equal(error.code, 'function_error');
    assert.match(error.message, /card declined/);

    const failed = await resultsFor('flaky', id);
    assert.equal(failed.length, 1, 'one result for the final outcome');
    assert.equal(failed[0]!.fields.outcome, 'error');
    assert.equal(JSON.parse(failed[0]!.fields.error!).code, 'function_error');
    const ok = await resultsFor('payok', id);
    assert.equal(ok.length, 1);
    assert.deepEqual(JSON.parse(ok[0]!.fields.result!), { paid: 5 });

    const m = await metrics();
    assert.equal(
      metricValue(m, 'titan_invocations_total', { function: 'flaky', outcome: 'function_error' }),
      2,
      'two attempts',
    );
    assert.equal(metricValue(m, 'titan_event_retries_total', { function: 'flaky' }), 1);
    assert.equal(metricValue(m, 'titan_dlq_total', { function: 'flaky' }), 1);
    assert.equal(
      metricValue(m, 'titan_invocations_total', { function: 'payok', outcome: 'ok' }),
      1,
      'payok ran once',
    );
    // both work items are acknowledged: nothing left pending on either queue
    for (const q of ['flaky', 'payok']) {
      const [pending] = (await redis.xpending(`${P}titan.q.${q}`, 'plugins')) as [number];
      assert.equal(pending, 0, `nothing pending on ${q}'s queue`);
    }
  });

  test('an event the handler rejects (status 400-499) goes to the DLQ at once, never retried', async () => {
    const id = await xadd('refunds', { type: 'refund', data: '{"amount":"ten"}' });
    const dead = await waitFor('the DLQ entry', async () =>
      (await dlq()).find((e) => e.fields.topic === 'refunds' && e.fields.event_id === id),
    );
    assert.equal(dead.fields.function, 'picky');
    assert.equal(
      dead.fields.attempts,
      '1',
      'max_attempts is 3, but a retry cannot change a rejection',
    );
    assert.deepEqual(JSON.parse(dead.fields.error!), {
      code: 'function_rejected',
      message: 'amount must be a number',
    });
    const m = await (await h.request('/metrics')).text();
    assert.equal(metricValue(m, 'titan_event_retries_total', { function: 'picky' }), 0);
    assert.equal(
      metricValue(m, 'titan_invocations_total', {
        function: 'picky',
        outcome: 'function_rejected',
      }),
      1,
    );
  });

  test('malformed entries go to the DLQ with the reason; the loop goes on', async () => {
    const noType = await xadd('raw', { data: '{"a":1}' });
    const badData = await xadd('raw', { type: 'thing', data: '{not json' });
    const good = await xadd('raw', { type: 'thing', data: '{"good":true}' });
    assert.deepEqual(JSON.parse((await resultFor('mal', good)).fields.result!), {
      got: { good: true },
    });

    const entries = await dlq();
    const a = entries.find((e) => e.fields.topic === 'raw' && e.fields.event_id === noType);
    const b = entries.find((e) => e.fields.topic === 'raw' && e.fields.event_id === badData);
    assert.ok(a && b, 'both malformed entries are dead-lettered');
    assert.equal(a.fields.topic, 'raw');
    assert.equal(a.fields.data, '{"a":1}', 'the original fields are kept');
    assert.equal(a.fields.function, '');
    assert.equal(JSON.parse(a.fields.error!).code, 'invalid_event');
    assert.match(JSON.parse(a.fields.error!).message, /type: missing/);
    assert.equal(b.fields.data, '{not json');
    assert.match(JSON.parse(b.fields.error!).message, /data is not JSON/);
    assert.deepEqual(await resultsFor('mal', noType), []);
    assert.deepEqual(await resultsFor('mal', badData), []);

    const health = await json(h.request('/healthz'));
    assert.equal(health.body.triggers.state, 'subscribed');
    // a malformed entry matched no function: replay refuses it and says why
    const replay = await json(h.request(`/dlq/${a.id}/replay`, { method: 'POST' }));
    assert.equal(replay.status, 400);
    assert.match(replay.body.error.message, /malformed event/);
  });

  test('POST /events/:topic publishes an event that triggers functions; bad input is a 400', async () => {
    const res = await json(
      h.request('/events/orders', {
        method: 'POST',
        body: JSON.stringify({ type: 'created', data: { order: 42 } }),
      }),
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.topic, 'orders');
    const id: string = res.body.id;
    const entry = (await readStream(redis, `${P}orders`)).find((e) => e.id === id);
    assert.ok(entry, 'the entry is on the topic stream');
    const { fields } = entry;
    assert.equal(fields.type, 'created');
    assert.equal(fields.data, '{"order":42}');
    assert.ok(fields.time);
    const r = JSON.parse((await resultFor('onorder', id)).fields.result!);
    assert.deepEqual(r.event.data, { order: 42 });

    const noType = await json(
      h.request('/events/orders', { method: 'POST', body: JSON.stringify({ data: 1 }) }),
    );
    assert.equal(noType.status, 400);
    assert.equal(noType.body.error.code, 'invalid_request');
    assert.match(noType.body.error.message, /type/);
    const notJson = await json(h.request('/events/orders', { method: 'POST', body: '{oops' }));
    assert.equal(notJson.status, 400);
    const badTopic = await json(
      h.request('/events/bad%20topic', { method: 'POST', body: JSON.stringify({ type: 'x' }) }),
    );
    assert.equal(badTopic.status, 400);
    assert.match(badTopic.body.error.message, /invalid topic/);
    for (const internal of ['titan.results', 'titan.dlq', 'titan.q.onorder']) {
      const forged = await json(
        h.request(`/events/${internal}`, { method: 'POST', body: JSON.stringify({ type: 'x' }) }),
      );
      assert.equal(forged.status, 400, internal);
      assert.match(forged.body.error.message, /runtime's own streams/);
    }
  });

  test('GET /dlq lists dead-lettered entries; POST /dlq/:id/replay re-queues one, which succeeds once the function is fixed', async () => {
    const id = await xadd('invoices', { type: 'bill', data: '{"n":1}' });
    const listed = await waitFor('the DLQ listing', async () => {
      const { body } = await json(h.request('/dlq'));
      return (body.entries as Array<Record<string, string>>).find(
        (e) => e.topic === 'invoices' && e.event_id === id,
      );
    });
    assert.equal(listed.function, 'fixme');
    assert.equal(listed.attempts, '1');
    assert.match(JSON.parse(listed.error!).message, /not fixed yet/);
    assert.equal(listed.data, '{"n":1}');

    // Fix and redeploy the function, then replay.
    const dir = join(h.functionsDir, 'fixme');
    await writeFile(
      join(dir, 'index.js'),
      `export default async (event) => ({ fixed: true, n: event.data.n });`,
    );
    await writeFile(
      join(dir, 'function.yaml'),
      `version: "2"\nmax_attempts: 1\n${triggers({ topic: 'invoices' })}`,
    );
    await waitFor('version 2 of fixme to be ready', async () => {
      const { body } = await json(h.request('/functions/fixme'));
      return body.version === '2' && body.status === 'ready';
    });
    const replay = await json(h.request(`/dlq/${listed.id}/replay`, { method: 'POST' }));
    assert.equal(replay.status, 200, JSON.stringify(replay.body));
    assert.equal(replay.body.function, 'fixme');
    assert.match(replay.body.queued, /^\d+-\d+$/);

    const ok = await waitFor('the replayed entry to succeed', async () =>
      (await resultsFor('fixme', id)).find((e) => e.fields.outcome === 'ok'),
    );
    assert.deepEqual(JSON.parse(ok.fields.result!), { fixed: true, n: 1 });
    const { body } = await json(h.request('/dlq'));
    assert.equal(
      (body.entries as Array<{ id: string }>).some((e) => e.id === listed.id),
      false,
      'the replayed entry left the DLQ',
    );
    const again = await json(h.request(`/dlq/${listed.id}/replay`, { method: 'POST' }));
    assert.equal(again.status, 404);
  });

  test('glob topic triggers (chat.*) with event_type "*" take every matching stream and type', async () => {
    const other = await xadd('chatroom', { type: 'message', data: '{}' }); // does not match chat.*
    const msg = await xadd('chat.room7', { type: 'message', data: '{"text":"hi"}' });
    const typing = await xadd('chat.room7', { type: 'typing', data: 'null' });
    assert.deepEqual(JSON.parse((await resultFor('chatter', msg, 'chat.room7')).fields.result!), {
      topic: 'chat.room7',
      type: 'message',
    });
    assert.deepEqual(
      JSON.parse((await resultFor('chatter', typing, 'chat.room7')).fields.result!),
      { topic: 'chat.room7', type: 'typing' },
    );
    const { body } = await json(h.request('/healthz'));
    assert.ok(body.triggers.topics.includes('chat.room7'), JSON.stringify(body.triggers.topics));
    assert.ok(!body.triggers.topics.includes('chatroom'), 'chatroom does not match chat.*');
    assert.deepEqual(await resultsFor('chatter', other, 'chatroom'), []);

    // publishing through the gateway to a stream nobody has seen yet
    const pub = await json(
      h.request('/events/chat.lobby', {
        method: 'POST',
        body: JSON.stringify({ type: 'join', data: { who: 'ada' } }),
      }),
    );
    assert.equal(pub.status, 201);
    assert.deepEqual(
      JSON.parse((await resultFor('chatter', pub.body.id, 'chat.lobby')).fields.result!),
      { topic: 'chat.lobby', type: 'join' },
    );
  });

  test('a new subscription starts at the end of the stream: history from before it is not replayed', async () => {
    // chat.old existed before the gateway started; new events on it are read, the old one is not
    const fresh = await xadd('chat.old', { type: 'message', data: '{"old":false}' });
    await resultFor('chatter', fresh, 'chat.old');
    const order = await xadd('orders', { type: 'created', data: '{"order":9}' });
    await resultFor('onorder', order);
    await drained('chatter');
    await drained('onorder');
    await drained('anyorder');
    assert.deepEqual(await resultsFor('chatter', history.chat!, 'chat.old'), []);
    assert.deepEqual(await resultsFor('onorder', history.orders!), []);
    assert.deepEqual(await resultsFor('anyorder', history.orders!), []);
  });
});
