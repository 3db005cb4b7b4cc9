// Admin auth: management routes and `auth: token` functions need the bearer token; tokens are
// compared exactly; a gateway refuses to listen beyond loopback without one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fn, startHarness, type Harness } from '../helpers/harness.ts';

const TOKEN = 'correct horse battery staple';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('admin auth', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(
      {
        open: fn('module.exports = async () => ({ open: true })'),
        guarded: fn('module.exports = async () => ({ guarded: true })', 'auth: token\n'),
      },
      {},
      { adminToken: TOKEN },
    );
  });
  after(() => h.close());

  test('management routes reject a missing or wrong token with 401 and accept the right one', async () => {
    const routes: Array<[string, string, string?]> = [
      ['POST', '/reload'],
      ['PUT', '/functions/open/pool', '{"max":2}'],
      ['DELETE', '/functions/open/pool'],
      ['POST', '/events/some.topic', '{"type":"t"}'],
      ['GET', '/dlq'],
    ];
    for (const [method, path, body] of routes) {
      const none = await h.request(path, { method, body });
      assert.equal(none.status, 401, `${method} ${path} without a token`);
      assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'unauthorized');
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      const wrong = await h.request(path, { method, body, headers: bearer(`${TOKEN}x`) });
      assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
      const right = await h.request(path, { method, body, headers: bearer(TOKEN) });
      assert.notEqual(right.status, 401, `${method} ${path} with the token`);
      assert.ok(right.status < 500 || right.status === 503, `${method} ${path}: ${right.status}`);
    }
  });

  test('a function with auth: token rejects anonymous invocations; others stay open', async () => {
    const anon = await h.invoke('guarded', {});
    assert.equal(anon.status, 401);
    const ok = await h.request('/functions/guarded/invoke', {
      method: 'POST',
      body: '{}',
      headers: bearer(TOKEN),
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { guarded: true });
    const open = await h.invoke('open', {});
    assert.equal(open.status, 200);
  });

  test('listing, health and metrics stay readable without a token', async () => {
    for (const path of ['/functions', '/healthz', '/metrics'])
      assert.equal((await h.request(path)).status, 200, path);
  });
});

describe('exposure', () => {
  test('a gateway refuses to listen on a non-loopback address without a token', async () => {
    const h = await startHarness({}, { gateway: { host: '0.0.0.0' } });
    try {
      await assert.rejects(
        () => h.gw.listen(),
        /refusing to listen on 0\.0\.0\.0 without an admin token/,
      );
    } finally {
      await h.close();
    }
  });
});
