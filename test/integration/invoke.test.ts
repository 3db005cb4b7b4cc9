// Invocation over HTTP against the real engine: round trip, handler module styles, errors and the
// documented answers to bad input, and what a function sees of its sandbox.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fn, startHarness, type Harness } from '../helpers/harness.ts';

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

describe('invoke', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(
      {
        esm: fn('export default async (event, context) => ({ event, context })'),
        cjs: fn('module.exports = async (event) => ({ style: "cjs", event })'),
        named: fn('exports.handler = async () => ({ style: "exports.handler" })'),
        mjs: { 'function.yaml': 'handler: main.mjs\n', 'main.mjs': 'export async function handler() { return { style: "mjs" }; }' },
        thrower: fn('export default async () => { throw new Error("the widget is on fire"); }'),
        nothing: fn('export default async () => undefined'),
        unserialisable: fn('export default async () => ({ n: 1n })'),
        probe: fn(`
          import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
          const attempt = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
          export default async () => {
            const status = readFileSync('/proc/self/status', 'utf8');
            const field = (k) => status.match(new RegExp('^' + k + ':\\\\s*(\\\\S+)', 'm'))[1];
            return {
              uid: process.getuid(),
              capEff: field('CapEff'),
              noNewPrivs: field('NoNewPrivs'),
              interfaces: readdirSync('/sys/class/net'),
              writeRoot: attempt(() => writeFileSync('/etc/x', 'x')),
              writeCode: attempt(() => writeFileSync('/fn/x', 'x')),
              writeTmp: attempt(() => writeFileSync('/tmp/x', 'x')),
            };
          };`),
      },
      { gateway: { max_body_bytes: 1024 } },
    );
  });
  after(() => h.close());

  test('round trip: the body is the event, the result the body, with id and cold-start headers', async () => {
    const res = await h.invoke('esm', { hello: 'world', n: [1, 2] });
    assert.equal(res.status, 200);
    const id = res.headers.get('x-invocation-id');
    assert.match(id ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(res.headers.get('x-cold-start'), 'false', 'min 1 prewarms, so the first call is warm');
    const body = (await res.json()) as { event: unknown; context: Record<string, unknown> };
    assert.deepEqual(body.event, { hello: 'world', n: [1, 2] });
    assert.equal(body.context.invocationId, id);
    assert.equal(body.context.functionName, 'esm');
    assert.deepEqual(body.context.trigger, { kind: 'http' });
    assert.ok(typeof body.context.deadline === 'number' && body.context.deadline > Date.now(), 'deadline is a future epoch ms');
  });

  test('an empty body is a null event', async () => {
    const res = await h.request('/functions/esm/invoke', { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { event: unknown }).event, null);
  });

  test('CommonJS (module.exports and exports.handler) and .mjs handlers load', async () => {
    assert.deepEqual(await (await h.invoke('cjs', 7)).json(), { style: 'cjs', event: 7 });
    assert.deepEqual(await (await h.invoke('named', {})).json(), { style: 'exports.handler' });
    assert.deepEqual(await (await h.invoke('mjs', {})).json(), { style: 'mjs' });
  });

  test('undefined becomes null; a result that is not JSON is a function_error', async () => {
    const none = await h.invoke('nothing', {});
    assert.equal(none.status, 200);
    assert.equal(await none.text(), 'null');
    const bad = await h.invoke('unserialisable', {});
    assert.equal(bad.status, 500);
    assert.match((await errorOf(bad)).message, /not JSON-serialisable/);
  });

  test('a thrown error is a 500 function_error with its message', async () => {
    const res = await h.invoke('thrower', {});
    assert.equal(res.status, 500);
    assert.deepEqual(await errorOf(res), { code: 'function_error', message: 'the widget is on fire', details: { name: 'Error' } });
  });

  test('bad input gets the documented error', async () => {
    const cases: Array<[string, RequestInit, number, string]> = [
      ['/functions/esm/invoke', { method: 'POST', body: '{"unterminated": ' }, 400, 'invalid_json'],
      ['/functions/esm/invoke', { method: 'POST', body: JSON.stringify({ big: 'x'.repeat(2048) }) }, 413, 'payload_too_large'],
      ['/functions/..%2Fx/invoke', { method: 'POST', body: '{}' }, 400, 'invalid_name'],
      ['/functions/UPPER/invoke', { method: 'POST', body: '{}' }, 400, 'invalid_name'],
      ['/functions/missing/invoke', { method: 'POST', body: '{}' }, 404, 'not_found'],
      ['/nowhere', { method: 'GET' }, 404, 'not_found'],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await h.request(path, init);
      assert.equal(res.status, status, `${path}: status`);
      const e = await errorOf(res);
      assert.equal(e.code, code, `${path}: code`);
      assert.ok(e.message.length > 0, `${path}: message`);
    }
  });

  test('GET /functions and /functions/:name describe the pool', async () => {
    const list = (await (await h.request('/functions')).json()) as { functions: Array<{ name: string; status: string }> };
    assert.deepEqual(list.functions.map((f) => f.name), ['cjs', 'esm', 'mjs', 'named', 'nothing', 'probe', 'thrower', 'unserialisable']);
    const one = (await (await h.request('/functions/esm')).json()) as { status: string; pool: Record<string, number>; runtime: string };
    assert.equal(one.status, 'ready');
    assert.equal(one.runtime, 'node');
    for (const k of ['min', 'max', 'concurrency', 'warm', 'busy', 'starting']) assert.equal(typeof one.pool[k], 'number', k);
    assert.equal((await h.request('/functions/missing')).status, 404);
  });

  test('healthz answers 200 and metrics count invocations by outcome', async () => {
    const health = await h.request('/healthz');
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { engine: { reachable: boolean } }).engine.reachable, true);
    const metrics = await (await h.request('/metrics')).text();
    assert.match(metrics, /titan_invocations_total\{function="esm",outcome="ok"\} \d+/);
    assert.match(metrics, /titan_invocations_total\{function="thrower",outcome="function_error"\} \d+/);
    assert.match(metrics, /titan_pool_containers\{function="esm",state="warm"\} 1/);
  });

  test('inside the sandbox: only loopback, read-only root and code, writable /tmp, not root, no capabilities', async () => {
    const res = await h.invoke('probe', {});
    assert.equal(res.status, 200);
    const p = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(p.interfaces, ['lo']);
    assert.equal(p.writeRoot, 'EROFS');
    assert.equal(p.writeCode, 'EROFS');
    assert.equal(p.writeTmp, 'ok');
    assert.notEqual(p.uid, 0);
    assert.equal(p.capEff, '0000000000000000');
    assert.equal(p.noNewPrivs, '1');
  });
});
