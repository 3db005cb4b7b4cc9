// Hostile callers and function authors against secrets: names that try to leave the secrets
// directory (`../x`, `%2e%2e`, encoded slashes, absolute paths) or are too long are refused and write
// nothing; a value over 64 KiB is 413; with a token configured every /secrets route needs it, and a
// web page is refused; a value never shows in the environment, the API, the logs, /metrics or an
// error; a function sees only its own secrets, nothing of the store, and on the host the store and
// the copies are the gateway's alone.
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sendRaw } from '../helpers/raw-http.ts';
import { errorOf, eventually, fn, startHarness, type Harness } from '../helpers/harness.ts';

const TOKEN = 'secrets test token';
const auth = { authorization: `Bearer ${TOKEN}` };
const VALUE_A = 'value-of-alpha-7f3e9c';
const VALUE_B = 'value-of-beta-a51d02';

/** Reports what a container can find: its env, /run/secrets, the other's secret, the host store. */
const PROBE = (store: string) => `
const { readdirSync, readFileSync } = require('node:fs');
const tryRead = (p) => { try { return readFileSync(p, 'utf8'); } catch (e) { return 'error:' + e.code; } };
const tryList = (p) => { try { return readdirSync(p).sort(); } catch (e) { return 'error:' + e.code; } };
module.exports = async () => {
  console.log('probe ran');
  return {
    env: JSON.stringify(process.env),
    listed: tryList('/run/secrets'),
    alpha: tryRead('/run/secrets/alpha'),
    beta: tryRead('/run/secrets/beta'),
    store: tryList(${JSON.stringify(store)}),
    storeAlpha: tryRead(${JSON.stringify(join(store, 'alpha'))}),
    write: (() => { try { require('node:fs').writeFileSync('/run/secrets/alpha', 'x'); return 'written'; } catch (e) { return 'error:' + e.code; } })(),
  };
};
`;

describe('secrets against hostile callers and functions', () => {
  let h: Harness;
  let port: number;
  let store: string;
  const put = (name: string, body: string, headers: Record<string, string> = auth) =>
    sendRaw(port, `/secrets/${name}`, { method: 'PUT', body, headers });

  before(async () => {
    h = await startHarness({}, {}, { adminToken: TOKEN });
    port = await h.gw.listen();
    store = join(h.config.stateDir, 'secrets');
    assert.equal((await put('alpha', VALUE_A)).status, 201);
    assert.equal((await put('beta', VALUE_B)).status, 201);
    await h.addFunction('a', fn(PROBE(store), 'secrets: [alpha]\npool: { min: 1, max: 1 }\n'));
    await h.addFunction('b', fn(PROBE(store), 'secrets: [beta]\npool: { min: 1, max: 1 }\n'));
    await h.gw.registry.rescan();
    await h.gw.registry.settled();
  });
  after(() => h?.close());

  test('names that try to leave the directory, are absolute or too long are refused, and nothing is written', async () => {
    for (const name of [
      '..%2fx',
      '%2e%2e',
      '%2e%2e%2fx',
      '.x',
      'a%2fb',
      '%2fetc%2fpasswd',
      'a..b',
      'UPPER',
      'a%00b',
      'x'.repeat(64),
      '-lead',
    ]) {
      const r = await put(name, 'hostile');
      assert.ok([400, 404].includes(r.status), `${name}: ${r.status} ${r.body}`);
      if (r.status === 400) assert.equal(JSON.parse(r.body).error.code, 'invalid_name', name);
      assert.ok(!r.body.includes('hostile'));
    }
    // a dot segment the URL resolves before routing never reaches the route at all
    assert.equal((await put('../x', 'hostile')).status, 404);
    assert.deepEqual((await readdir(store)).sort(), ['alpha', 'beta']);
    assert.deepEqual(
      (await readdir(h.config.stateDir)).filter((f) => f === 'x' || f === 'passwd'),
      [],
    );
  });

  test('a value over 64 KiB is 413, with or without a declared length, and keeps the old value', async () => {
    const big = 'z'.repeat(64 * 1024 + 1);
    const r = await put('alpha', big);
    assert.equal(r.status, 413);
    assert.equal(JSON.parse(r.body).error.code, 'payload_too_large');
    const chunked = await h.request('/secrets/alpha', {
      method: 'PUT',
      headers: auth,
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(big));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.equal(r.body.includes('zzzz'), false);
    assert.equal(
      ((await h.invoke('a', {}).then((x) => x.json())) as { alpha: string }).alpha,
      VALUE_A,
    );
  });

  test('with a token configured, every /secrets route needs it; a web page is refused', async () => {
    for (const [method, path] of [
      ['GET', '/secrets'],
      ['PUT', '/secrets/alpha'],
      ['DELETE', '/secrets/alpha'],
    ] as const) {
      const r = await sendRaw(port, path, {
        method,
        body: method === 'PUT' ? 'stolen' : undefined,
      });
      assert.equal(r.status, 401, `${method} ${path}`);
      const wrong = await sendRaw(port, path, {
        method,
        headers: { authorization: 'Bearer nope' },
        body: method === 'PUT' ? 'stolen' : undefined,
      });
      assert.equal(wrong.status, 401);
    }
    const page = await sendRaw(port, '/secrets', {
      headers: { ...auth, origin: 'https://evil.example' },
    });
    assert.equal(page.status, 403);
    assert.equal(JSON.parse(page.body).error.code, 'forbidden_origin');
    const listed = await sendRaw(port, '/secrets', { headers: auth });
    assert.equal(listed.status, 200);
    assert.ok(!listed.body.includes(VALUE_A) && !listed.body.includes(VALUE_B));
  });

  test("a function sees its own secret only: not the other function's, not the store, not in its environment", async () => {
    const a = (await (await h.invoke('a', {})).json()) as Record<string, unknown>;
    assert.deepEqual(a.listed, ['alpha']);
    assert.equal(a.alpha, VALUE_A);
    assert.equal(a.beta, 'error:ENOENT');
    assert.equal(a.store, 'error:ENOENT');
    assert.equal(a.storeAlpha, 'error:ENOENT');
    assert.ok(!(a.env as string).includes(VALUE_A), 'no secret in the environment');
    const b = (await (await h.invoke('b', {})).json()) as Record<string, unknown>;
    assert.deepEqual(b.listed, ['beta']);
    assert.equal(b.alpha, 'error:ENOENT');
    assert.equal(a.write, 'error:EROFS', 'the mounted file is read-only');
  });

  test('the value is never in GET /functions, its logs, /metrics or an error body', async () => {
    await eventually(
      async () =>
        (await (await h.request('/functions/a/logs', { headers: auth })).text()).includes(
          'probe ran',
        ),
      10_000,
    );
    const bodies = await Promise.all(
      [
        '/functions',
        '/functions/a',
        '/functions/b',
        '/functions/a/logs',
        '/functions/b/logs',
        '/metrics',
        '/secrets',
        '/openapi.json',
      ].map(async (p) => (await h.request(p, { headers: auth })).text()),
    );
    // error bodies: a bad name, too large, a missing secret named by a function
    bodies.push(
      (await put('..%2falpha', VALUE_A)).body,
      (await put('alpha', VALUE_A.repeat(4000))).body,
    );
    await h.addFunction(
      'c',
      fn('module.exports = async () => 1', 'secrets: [alpha, missing-one]\n'),
    );
    await h.gw.registry.rescan();
    const c = await h.request('/functions/c', { headers: auth });
    const cInfo = await c.text();
    assert.match(cInfo, /'missing-one' is not set/);
    bodies.push(cInfo, await (await h.invoke('c', {})).text());
    for (const body of bodies) {
      assert.ok(
        !body.includes(VALUE_A) && !body.includes(VALUE_B),
        `a secret value leaked: ${body.slice(0, 200)}`,
      );
    }
    assert.equal((await errorOf(await h.invoke('c', {}))).code, 'function_invalid');
  });

  test("on the host the store is 0700 with 0600 files, and each version's copies sit in a 0700 directory", async () => {
    assert.equal((await stat(store)).mode & 0o777, 0o700);
    for (const f of await readdir(store))
      assert.equal((await stat(join(store, f))).mode & 0o777, 0o600, f);
    const copies = join(h.config.stateDir, 'secret-mounts');
    assert.equal((await stat(copies)).mode & 0o777, 0o700);
    const dirs = await readdir(copies);
    assert.ok(dirs.length >= 2, `one directory per deployed version (got ${dirs})`);
    for (const d of dirs) {
      assert.equal((await stat(join(copies, d))).mode & 0o777, 0o700);
      assert.equal(
        (await readdir(join(copies, d))).length,
        1,
        'a version holds only the secrets it names',
      );
    }
  });
});
