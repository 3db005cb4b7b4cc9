// What an anonymous client learns from /healthz on a gateway with an admin token (a balancer's
// check, reachable by anyone in front of it): `status` and `serving`, nothing about the engine,
// the host, Redis, the functions or the paths; a wrong or malformed token is anonymous, not an
// error; a flood of checks costs the engine one ping a second. The token holder sees everything.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { json, sharedRedisUrl, waitFor } from '../helpers/events.ts';
import { fn, startHarness, type Harness } from '../helpers/harness.ts';

const TOKEN = 'health-token-0123456789';

describe('/healthz to anonymous callers', () => {
  let h: Harness;
  let redisUrl: string;
  before(async () => {
    redisUrl = await sharedRedisUrl();
    h = await startHarness(
      { 'private-billing-fn': fn('export default async () => 1;') },
      {},
      { adminToken: TOKEN },
    );
    await waitFor(
      'subscribed',
      async () =>
        (await json(h.request('/healthz', { headers: { authorization: `Bearer ${TOKEN}` } }))).body
          .triggers.state === 'subscribed',
    );
  });
  after(() => h?.close());

  test('learn status and serving and nothing else, whatever they send', async () => {
    const info = await h.gw.opts.engine.ping();
    const secrets = [
      hostname(),
      String(process.pid),
      info.serverVersion,
      info.apiVersion,
      'private-billing-fn',
      h.dir,
      h.config.stateDir,
      redisUrl.replace(/^unix:\/\//, ''),
      h.config.events.keyPrefix,
      'plugins',
    ];
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: 'Bearer' },
      { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${'a'.repeat(64 * 1024)}` },
      { authorization: `bearer  ${TOKEN.slice(0, -1)}` },
    ];
    for (const headers of attempts) {
      const res = await h.request('/healthz', { headers });
      const text = await res.text();
      const what = JSON.stringify(headers).slice(0, 80);
      assert.equal(res.status, 200, what);
      assert.deepEqual(JSON.parse(text), { status: 'ok', serving: 'ready' }, what);
      for (const s of secrets) assert.ok(!text.includes(s), `${what} learned ${s}`);
      for (const header of ['server', 'x-powered-by'])
        assert.equal(res.headers.get(header), null, `${what}: no ${header} header`);
    }
  });

  test('the token holder sees the full report, with the fields it always had', async () => {
    const { status, body } = await json(
      h.request('/healthz', { headers: { authorization: `Bearer ${TOKEN}` } }),
    );
    assert.equal(status, 200);
    assert.equal(body.status, 'ok');
    assert.equal(body.serving, 'ready');
    assert.equal(body.engine.reachable, true);
    assert.equal(typeof body.engine.serverVersion, 'string');
    assert.equal(body.triggers.state, 'subscribed');
    assert.equal(body.functions, 1);
    assert.deepEqual(body.sources, []);
  });

  test('a flood of anonymous checks costs the engine one ping a second', async () => {
    const engine = h.gw.opts.engine;
    const real = engine.ping.bind(engine);
    let pings = 0;
    engine.ping = () => {
      pings++;
      return real();
    };
    try {
      await new Promise((r) => setTimeout(r, 1100)); // past the last cached ping
      const t0 = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 400 }, () => h.request('/healthz').then((r) => r.status)),
      );
      const seconds = Math.ceil((Date.now() - t0) / 1000);
      assert.ok(answers.every((s) => s === 200));
      assert.ok(pings >= 1 && pings <= seconds + 1, `${pings} pings in ${seconds} s`);
    } finally {
      engine.ping = real;
    }
  });
});
