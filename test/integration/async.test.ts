// Async invocation end to end on one in-process gateway, the real engine and real Redis:
// 202 + invocationId, GET /invocations/:id until done, failures dead-lettered, bad calls refused at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { fn, startHarness, type Harness } from '../helpers/harness.ts';
import {
  deletePrefix,
  json,
  readStream,
  redisClient,
  sharedRedisUrl,
  waitFor,
} from '../helpers/events.ts';

describe('async invocation', () => {
  let h: Harness;
  let redis: Redis;
  let P: string;

  before(async () => {
    redis = redisClient(await sharedRedisUrl());
    h = await startHarness({
      adder: fn(
        `export default async (event, context) => ({ sum: event.a + event.b, id: context.invocationId, trigger: context.trigger });`,
      ),
      broken: fn(
        `export default async () => { throw new Error('always broken'); };`,
        'max_attempts: 2\n',
      ),
      // an unknown manifest key makes the function invalid
      invalid: fn(`export default async () => 1;`, 'version: "1"\nno_such_key: 1\n'),
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

  const invokeAsync = (name: string, body: string) =>
    json(h.request(`/functions/${name}/invoke?async=true`, { method: 'POST', body }));
  const statusOf = (id: string) => json(h.request(`/invocations/${id}`));
  const waitDone = (id: string) =>
    waitFor(`invocation ${id} to finish`, async () => {
      const r = await statusOf(id);
      return r.body.status === 'succeeded' || r.body.status === 'failed' ? r : undefined;
    });

  test('POST ?async=true answers 202 with an invocationId; GET /invocations/:id returns the result', async () => {
    const res = await invokeAsync('adder', JSON.stringify({ a: 2, b: 40 }));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const { invocationId } = res.body;
    assert.match(invocationId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(Object.keys(res.body), ['invocationId']);
    assert.equal(res.headers.get('location'), `/invocations/${invocationId}`);

    const done = await waitDone(invocationId);
    assert.equal(done.status, 200);
    assert.equal(done.body.status, 'succeeded', JSON.stringify(done.body));
    assert.equal(done.body.invocationId, invocationId);
    assert.equal(done.body.function, 'adder');
    // the handler ran under the id the caller was given, triggered as async
    assert.deepEqual(done.body.result, { sum: 42, id: invocationId, trigger: { kind: 'async' } });
    assert.ok(done.body.finished_at && done.body.duration_ms >= 0);
    const [pending] = (await redis.xpending(`${P}titan.q.adder`, 'plugins')) as [number];
    assert.equal(pending, 0, 'the queue entry is acknowledged');
  });

  test('a failing async invocation ends failed with its error and attempts, and is dead-lettered', async () => {
    const res = await invokeAsync('broken', '{"x":1}');
    assert.equal(res.status, 202);
    const done = await waitDone(res.body.invocationId);
    assert.equal(done.body.status, 'failed');
    assert.equal(done.body.error.code, 'function_error');
    assert.match(done.body.error.message, /always broken/);
    assert.equal(done.body.attempts, 2);
    const dead = (await readStream(redis, `${P}titan.dlq`)).find(
      (e) => e.fields.invocation_id === res.body.invocationId,
    );
    assert.ok(dead, 'the DLQ holds the failed async invocation');
    assert.equal(dead.fields.function, 'broken');
    assert.equal(dead.fields.kind, 'async');
    assert.equal(dead.fields.payload, '{"x":1}');
  });

  test('refused at once, never queued: a missing function (404), an invalid one (409), a body that is not JSON (400)', async () => {
    const missing = await invokeAsync('nosuchfn', '{}');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
    assert.equal(
      await redis.exists(`${P}titan.q.nosuchfn`),
      0,
      'nothing queued for a missing function',
    );

    await waitFor(
      'the invalid function to be listed',
      async () => (await json(h.request('/functions/invalid'))).body.status === 'invalid',
    );
    const invalid = await invokeAsync('invalid', '{}');
    assert.equal(invalid.status, 409);
    assert.equal(invalid.body.error.code, 'function_invalid');
    assert.match(invalid.body.error.message, /no_such_key/);

    const before = await redis.xlen(`${P}titan.q.adder`);
    const notJson = await invokeAsync('adder', '{"a": 1,');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, 'invalid_json');
    assert.equal(
      await redis.xlen(`${P}titan.q.adder`),
      before,
      'nothing queued for a body that is not JSON',
    );

    const unknown = await statusOf('00000000-0000-0000-0000-000000000000');
    assert.equal(unknown.status, 404);
  });
});
