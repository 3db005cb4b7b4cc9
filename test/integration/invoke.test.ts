// Invocation over HTTP against the real engine: the round trip, every handler module style, handler
// errors, the documented answers to bad input (always `{ error: { code, message } }`), and the
// read-only routes (/functions, /healthz, /metrics).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as v from 'valibot';
import { FunctionInfoSchema } from '../../runtime/function-info.ts';
import { containersOf, errorOf, fn, startHarness, type Harness } from '../helpers/harness.ts';

const MAX_BODY = 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The value of one Prometheus sample, 0 when the series does not exist yet. */
const sample = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};

describe('invoke', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(
      {
        esm: fn(
          `export default async (event, context) => {
            let frozen = true;
            try { context.config.nested.n = 2; frozen = false; } catch {}
            return { event, context, frozen };
          }`,
          'version: "1.2.0"\npool: { min: 1, max: 2, concurrency: 3 }\nconfig: { greeting: hej, nested: { n: 1 } }\n',
        ),
        cjs: fn('module.exports = async (event) => ({ style: "module.exports", event });'),
        named: fn('exports.handler = async (event) => ({ style: "exports.handler", event });'),
        mjs: {
          'function.yaml': 'handler: main.mjs\n',
          'main.mjs': 'export async function handler(event) { return { style: "mjs", event }; }',
        },
        misc: fn(`
          export default async (e) => {
            switch (e.kind) {
              case 'throw': throw new Error('the widget is on fire');
              case 'reject-type': return Promise.reject(new TypeError('not a widget'));
              case 'throw-string': throw 'plain string';
              case 'refuse': throw Object.assign(new RangeError('quantity must be positive'), { status: 422 });
              case 'refuse-code': throw Object.assign(new Error('no such widget'), { statusCode: 404 });
              case 'status-500': throw Object.assign(new Error('upstream broke'), { status: 500 });
              case 'undefined': return undefined;
              case 'bigint': return { n: 1n };
              default: return { unicode: 'grüße, 世界 ✓', echo: e };
            }
          };`),
      },
      // HTTP only: no Redis needed (a REDIS_URL in the environment is still used, harmlessly).
      { gateway: { max_body_bytes: MAX_BODY }, events: { embedded_redis: false } },
    );
  });
  after(async () => {
    if (!h) return;
    await h.close();
    assert.deepEqual(await containersOf(h.config), [], 'close removes every container');
  });

  test('round trip: the body is the event, the result is the body, with invocation id and cold-start headers', async () => {
    const timeoutMs = h.gw.registry.get('esm')!.spec.timeoutMs;
    const sent = Date.now();
    const res = await h.invoke('esm', { hello: 'world', n: [1, 2.5, null] });
    const answered = Date.now();
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const id = res.headers.get('x-invocation-id');
    assert.match(id ?? '', UUID);
    assert.equal(
      res.headers.get('x-cold-start'),
      'false',
      'pool.min 1 prewarms, so the first call is warm',
    );
    const body = (await res.json()) as {
      event: unknown;
      context: Record<string, unknown>;
      frozen: boolean;
    };
    assert.deepEqual(body.event, { hello: 'world', n: [1, 2.5, null] });
    assert.equal(body.context.invocationId, id, 'the handler sees the id the caller got');
    assert.equal(body.context.functionName, 'esm');
    assert.deepEqual(body.context.trigger, { kind: 'http' });
    assert.deepEqual(
      body.context.config,
      { greeting: 'hej', nested: { n: 1 } },
      "the manifest's config: as context.config",
    );
    assert.equal(body.frozen, true, 'context.config is frozen all the way down');
    const deadline = body.context.deadline as number;
    assert.ok(
      deadline >= sent + timeoutMs && deadline <= answered + timeoutMs,
      `deadline ${deadline} is the call's start + timeout_sec`,
    );

    const again = await h.invoke('esm', {});
    assert.notEqual(
      again.headers.get('x-invocation-id'),
      id,
      'every invocation has an id of its own',
    );
  });

  test('any JSON value is an event: an empty body is null, scalars and arrays pass as they are', async () => {
    const empty = await h.request('/functions/esm/invoke', { method: 'POST' });
    assert.equal(empty.status, 200);
    assert.equal(((await empty.json()) as { event: unknown }).event, null);
    for (const value of ['text', 42, false, [1, 'two', { three: 3 }]]) {
      const res = await h.invoke('esm', JSON.stringify(value)); // (a string body is sent as it is)
      assert.equal(res.status, 200);
      assert.deepEqual(((await res.json()) as { event: unknown }).event, value);
    }
    const res = await h.invoke('misc', { kind: 'echo' });
    assert.deepEqual(
      await res.json(),
      { unicode: 'grüße, 世界 ✓', echo: { kind: 'echo' } },
      'UTF-8 survives both ways',
    );
  });

  test('ES module, CommonJS (module.exports and exports.handler) and `handler: main.mjs` all load', async () => {
    assert.deepEqual(await (await h.invoke('cjs', 7)).json(), {
      style: 'module.exports',
      event: 7,
    });
    assert.deepEqual(await (await h.invoke('named', { a: 1 })).json(), {
      style: 'exports.handler',
      event: { a: 1 },
    });
    assert.deepEqual(await (await h.invoke('mjs', '"x"')).json(), { style: 'mjs', event: 'x' });
    const esm = await h.invoke('esm', 1);
    assert.equal(esm.status, 200);
    assert.equal(((await esm.json()) as { event: unknown }).event, 1);
  });

  test('a thrown error or rejection is a 500 function_error with its message; the container keeps serving', async () => {
    const thrown = await h.invoke('misc', { kind: 'throw' });
    assert.equal(thrown.status, 500);
    assert.deepEqual(await errorOf(thrown), {
      code: 'function_error',
      message: 'the widget is on fire',
      details: { name: 'Error' },
    });

    const rejected = await h.invoke('misc', { kind: 'reject-type' });
    assert.equal(rejected.status, 500);
    assert.deepEqual(await errorOf(rejected), {
      code: 'function_error',
      message: 'not a widget',
      details: { name: 'TypeError' },
    });

    const str = await h.invoke('misc', { kind: 'throw-string' });
    assert.equal(str.status, 500);
    const e = await errorOf(str);
    assert.equal(e.code, 'function_error');
    assert.equal(e.message, 'plain string');

    assert.equal(
      (await h.invoke('misc', { kind: 'echo' })).status,
      200,
      'a handler error does not cost the container',
    );
  });

  test('an error with status (or statusCode) 400-499 is a 400 function_rejected; other statuses stay function_error', async () => {
    const refused = await h.invoke('misc', { kind: 'refuse' });
    assert.equal(refused.status, 400);
    assert.deepEqual(await errorOf(refused), {
      code: 'function_rejected',
      message: 'quantity must be positive',
      details: { name: 'RangeError' },
    });
    const byCode = await h.invoke('misc', { kind: 'refuse-code' });
    assert.equal(byCode.status, 400);
    assert.equal((await errorOf(byCode)).code, 'function_rejected');
    const server = await h.invoke('misc', { kind: 'status-500' });
    assert.equal(server.status, 500);
    assert.equal((await errorOf(server)).code, 'function_error');
  });

  test('undefined becomes null; a result that is not JSON is a function_error', async () => {
    const none = await h.invoke('misc', { kind: 'undefined' });
    assert.equal(none.status, 200);
    assert.equal(await none.text(), 'null');
    const bad = await h.invoke('misc', { kind: 'bigint' });
    assert.equal(bad.status, 500);
    const e = await errorOf(bad);
    assert.equal(e.code, 'function_error');
    assert.match(e.message, /not JSON-serialisable/);
  });

  test('bad input gets the documented status and code, always as { error: { code, message } }', async () => {
    const cases: Array<[string, RequestInit, number, string]> = [
      ['/functions/esm/invoke', { method: 'POST', body: '{"unterminated": ' }, 400, 'invalid_json'],
      ['/functions/esm/invoke', { method: 'POST', body: '{} {}' }, 400, 'invalid_json'],
      [
        '/functions/esm/invoke',
        { method: 'POST', body: JSON.stringify({ big: 'x'.repeat(MAX_BODY) }) },
        413,
        'payload_too_large',
      ],
      ['/functions/..%2Fx/invoke', { method: 'POST', body: '{}' }, 400, 'invalid_name'],
      ['/functions/UPPER/invoke', { method: 'POST', body: '{}' }, 400, 'invalid_name'],
      ['/functions/missing/invoke', { method: 'POST', body: '{}' }, 404, 'not_found'],
      ['/functions/UPPER', { method: 'GET' }, 400, 'invalid_name'],
      ['/functions/missing', { method: 'GET' }, 404, 'not_found'],
      ['/functions/esm/invoke', { method: 'GET' }, 404, 'not_found'],
      ['/nowhere', { method: 'GET' }, 404, 'not_found'],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await h.request(path, init);
      assert.equal(res.status, status, `${init.method} ${path}: status`);
      assert.equal((await errorOf(res)).code, code, `${init.method} ${path}: code`);
    }
  });

  test('a body of exactly gateway.max_body_bytes is accepted', async () => {
    const body = JSON.stringify('y'.repeat(MAX_BODY - 2));
    assert.equal(Buffer.byteLength(body), MAX_BODY);
    const res = await h.invoke('esm', body);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { event: string }).event.length, MAX_BODY - 2);
  });

  test('GET /functions lists every function in the documented shape; GET /functions/:name describes one', async () => {
    assert.equal((await h.invoke('esm', {})).status, 200);
    const res = await h.request('/functions');
    assert.equal(res.status, 200);
    const list = (await res.json()) as { functions: unknown[] };
    assert.deepEqual(Object.keys(list), ['functions']);
    for (const f of list.functions) {
      const parsed = v.safeParse(FunctionInfoSchema, f);
      assert.ok(
        parsed.success,
        `${JSON.stringify(f)}: ${parsed.issues?.map((i) => i.message).join('; ')}`,
      );
    }
    const infos = v.parse(v.array(FunctionInfoSchema), list.functions);
    assert.deepEqual(
      infos.map((f) => f.name),
      ['cjs', 'esm', 'misc', 'mjs', 'named'],
      'sorted by name',
    );
    assert.ok(
      infos.every((f) => f.status === 'ready' && f.runtime === 'node' && f.error === undefined),
    );

    const one = await h.request('/functions/esm');
    assert.equal(one.status, 200);
    const esm = v.parse(FunctionInfoSchema, await one.json());
    assert.equal(esm.name, 'esm');
    assert.equal(esm.version, '1.2.0');
    assert.deepEqual(esm.triggers, []);
    assert.deepEqual(
      { min: esm.pool.min, max: esm.pool.max, concurrency: esm.pool.concurrency },
      { min: 1, max: 2, concurrency: 3 },
      'the manifest pool',
    );
    assert.equal(esm.pool.warm + esm.pool.busy, 1, 'min 1: one container');
    assert.equal(esm.pool.idle_sec, 60);
    assert.ok(esm.stats.invocations >= 1, 'invocations since deploy are counted');
  });

  test('GET /healthz answers 200 with the engine reachable', async () => {
    const res = await h.request('/healthz');
    assert.equal(res.status, 200);
    const health = (await res.json()) as {
      status: string;
      engine: { reachable: boolean; apiVersion: string };
      functions: number;
    };
    assert.equal(health.status, 'ok');
    assert.equal(health.engine.reachable, true);
    assert.equal(typeof health.engine.apiVersion, 'string');
    assert.equal(health.functions, 5);
  });

  test('GET /metrics counts invocations by function and outcome, and never unknown names', async () => {
    const ok = 'titan_invocations_total{function="esm",outcome="ok"}';
    const failed = 'titan_invocations_total{function="misc",outcome="function_error"}';
    const beforeText = await (await h.request('/metrics')).text();
    assert.equal((await h.invoke('esm', {})).status, 200);
    assert.equal((await h.invoke('misc', { kind: 'throw' })).status, 500);
    assert.equal((await h.invoke('nosuchfn', {})).status, 404);
    const res = await h.request('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.equal(sample(text, ok), sample(beforeText, ok) + 1);
    assert.equal(sample(text, failed), sample(beforeText, failed) + 1);
    assert.doesNotMatch(text, /function="nosuchfn"/, 'a scanner cannot grow the label set');
    assert.match(text, /titan_pool_containers\{function="esm",state="warm"\} 1/);
  });
});
