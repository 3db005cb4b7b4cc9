// Hostile callers against the read-only stream routes (GET /events/:topic, GET /results): a topic
// naming the runtime's own streams (results, DLQ, another function's queue, in any case, after a
// prefix) or a malformed one is refused, so the route cannot read what the topic namespace keeps
// out; bad counts and ids are 400; with a token configured both routes need it; a page is refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sendRaw } from '../helpers/raw-http.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';
import { sharedRedisUrl, uniquePrefix } from '../helpers/events.ts';

const TOKEN = 'streams test token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('stream reading routes against hostile callers', () => {
  let h: Harness;
  let port: number;

  before(async () => {
    await sharedRedisUrl();
    h = await startHarness({}, { events: { key_prefix: uniquePrefix() } }, { adminToken: TOKEN });
    port = await h.gw.listen();
    assert.equal(
      (
        await sendRaw(port, '/events/orders', {
          method: 'POST',
          headers: auth,
          body: '{"type":"t","data":1}',
        })
      ).status,
      201,
    );
  });
  after(() => h?.close());

  test('reserved and malformed topics are refused with invalid_topic, naming nothing of the streams', async () => {
    for (const topic of [
      'titan.results',
      'titan.dlq',
      'TITAN.dlq',
      'titan.q.echo',
      'x:titan.q.echo',
      'titan.invocation:abc',
      '%2e%2e',
      'a%2fb',
      'a%20b',
      'x'.repeat(300),
      '*',
      'orders%00',
    ]) {
      const r = await sendRaw(port, `/events/${topic}`, { headers: auth });
      assert.ok([400, 404].includes(r.status), `${topic}: ${r.status}`);
      if (r.status === 400) assert.equal(JSON.parse(r.body).error.code, 'invalid_topic', topic);
      assert.ok(!r.body.includes('"entries"'), `${topic} must not be read`);
    }
  });

  test('bad count and after values are 400 invalid_request', async () => {
    for (const q of [
      'count=0',
      'count=1001',
      'count=-1',
      'count=abc',
      'count=1.5',
      'after=0',
      'after=$',
      'after=1-0%20x',
      'after=-',
    ]) {
      const r = await sendRaw(port, `/events/orders?${q}`, { headers: auth });
      assert.equal(r.status, 400, q);
      assert.equal(JSON.parse(r.body).error.code, 'invalid_request', q);
    }
    const r = await sendRaw(port, '/results?count=99999', { headers: auth });
    assert.equal(r.status, 400);
  });

  test('with a token configured both routes need it, and a web page is refused', async () => {
    for (const path of ['/events/orders', '/results']) {
      assert.equal((await sendRaw(port, path)).status, 401, path);
      assert.equal(
        (await sendRaw(port, path, { headers: { authorization: 'Bearer wrong' } })).status,
        401,
        path,
      );
      const page = await sendRaw(port, path, {
        headers: { ...auth, origin: 'https://evil.example' },
      });
      assert.equal(page.status, 403, path);
      const ok = await sendRaw(port, path, { headers: auth });
      assert.equal(ok.status, 200, path);
    }
    const listed = JSON.parse((await sendRaw(port, '/events/orders', { headers: auth })).body);
    assert.equal(listed.entries.length, 1);
    assert.equal(listed.entries[0].data, '1');
  });
});
