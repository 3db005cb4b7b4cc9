// Secrets on the real engine: set through the admin API, a function naming one reads it at
// /run/secrets/<name>; a function that does not name it sees nothing of it; a change rolls the
// function to the new value; a function naming a secret that is not set is invalid, naming it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, fn, startHarness, type Harness } from '../helpers/harness.ts';

/** Answers with what the container sees under /run/secrets. */
const READER = `
const { readdirSync, readFileSync } = require('node:fs');
const tryRead = (p) => { try { return readFileSync(p, 'utf8'); } catch (e) { return 'error:' + e.code; } };
const tryList = (p) => { try { return readdirSync(p).sort(); } catch (e) { return 'error:' + e.code; } };
module.exports = async () => ({ value: tryRead('/run/secrets/api-key'), listed: tryList('/run/secrets') });
`;

describe('secrets (real engine)', () => {
  let h: Harness;
  const put = (name: string, value: string) =>
    h.request(`/secrets/${name}`, { method: 'PUT', body: value });
  const call = async (name: string) => {
    const res = await h.invoke(name, {});
    return {
      status: res.status,
      body: (await res.json()) as {
        value?: string;
        listed?: unknown;
        error?: { code: string; message: string };
      },
    };
  };

  before(async () => {
    h = await startHarness({
      reader: fn(READER, 'secrets: [api-key]\npool: { min: 0, max: 2 }\n'),
      plain: fn(READER, 'pool: { min: 0, max: 1 }\n'),
    });
  });
  after(() => h?.close());

  test('a function naming a secret that is not set is invalid, and the message names the secret', async () => {
    const info = (await (await h.request('/functions/reader')).json()) as {
      status: string;
      error: string;
    };
    assert.equal(info.status, 'invalid');
    assert.match(info.error, /secrets: 'api-key' is not set/);
    assert.equal((await call('reader')).status, 409);
  });

  test('once set, the function deploys and reads the value at /run/secrets/<name>, and only its own secrets', async () => {
    assert.equal((await put('api-key', 's3cr3t-one')).status, 201);
    assert.equal((await put('unrelated', 'not-for-reader')).status, 201);
    await h.gw.registry.settled();
    const out = await eventually(
      async () => ((await call('reader')).body.value === 's3cr3t-one' ? call('reader') : undefined),
      20_000,
    );
    assert.ok(out, 'the function came up with the secret');
    assert.deepEqual(out.body, { value: 's3cr3t-one', listed: ['api-key'] });
  });

  test('a function that does not name the secret cannot see it', async () => {
    const out = await call('plain');
    assert.equal(out.status, 200);
    assert.equal(out.body.value, 'error:ENOENT');
    assert.equal(out.body.listed, 'error:ENOENT');
  });

  test('changing the secret rolls the function to the new value', async () => {
    const before = (await (await h.request('/functions/reader')).json()) as { status: string };
    assert.equal(before.status, 'ready');
    assert.equal((await put('api-key', 's3cr3t-two')).status, 200);
    const rolled = await eventually(
      async () => (await call('reader')).body.value === 's3cr3t-two',
      20_000,
      100,
    );
    assert.ok(rolled, 'the new value is served after the roll');
  });

  test('GET /secrets lists names and times, never values; DELETE removes one', async () => {
    const listed = (await (await h.request('/secrets')).json()) as {
      secrets: Array<{ name: string; updated_at: string }>;
    };
    assert.deepEqual(
      listed.secrets.map((s) => s.name),
      ['api-key', 'unrelated'],
    );
    assert.ok(
      listed.secrets.every(
        (s) =>
          Object.keys(s).sort().join() === 'name,updated_at' &&
          !Number.isNaN(Date.parse(s.updated_at)),
      ),
    );
    assert.equal((await h.request('/secrets/unrelated', { method: 'DELETE' })).status, 200);
    assert.equal((await h.request('/secrets/unrelated', { method: 'DELETE' })).status, 404);
    const after = (await (await h.request('/secrets')).json()) as {
      secrets: Array<{ name: string }>;
    };
    assert.deepEqual(
      after.secrets.map((s) => s.name),
      ['api-key'],
    );
  });
});
