// The node:http fast path for POST /functions/:name/invoke (gateway/fast-invoke.ts), over a real
// listening port: it answers as Hono's route does (status, body, headers), and every request it does
// not take (unknown names, bodies without a length or over the limit, other routes)
// still reaches Hono. The in-process tests (app.request) never see this layer.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { containersOf, errorOf, fn, startHarness, type Harness } from '../helpers/harness.ts';

const MAX_BODY = 1024;
const TOKEN = 'fast path token';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Headers that belong to the connection, not to the answer. */
const PER_CONNECTION = new Set(['date', 'connection', 'keep-alive']);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('invoke fast path over a listening port', () => {
  let h: Harness;
  let port: number;
  /** requests that reached Hono's listener */
  let honoCalls = 0;

  before(async () => {
    h = await startHarness(
      {
        echo: fn('export default async (event) => ({ echo: event })'),
        boom: fn("export default async () => { throw new TypeError('the widget is on fire'); }"),
        guarded: fn('export default async () => ({ guarded: true })', 'auth: token\n'),
        busy: fn(
          'export default async () => { await new Promise((r) => setTimeout(r, 800)); return "done"; }',
          'pool: { min: 1, max: 1, concurrency: 1 }\n',
        ),
      },
      {
        gateway: { max_body_bytes: MAX_BODY },
        pool: { queue_max: 1 },
        events: { embedded_redis: false },
      },
      { adminToken: TOKEN },
    );
    // listen() hands Hono's fetch to its fallback listener: count what gets there.
    const honoFetch = h.gw.app.fetch;
    h.gw.app.fetch = (req, ...rest) => {
      honoCalls++;
      return honoFetch(req, ...rest);
    };
    port = await h.gw.listen();
  });
  after(async () => {
    if (!h) return;
    await h.close();
    assert.deepEqual(await containersOf(h.config), [], 'close removes every container');
  });

  /** One request over the port; `chunked` sends the body without a content-length. */
  const send = (
    path: string,
    {
      method = 'POST',
      body,
      headers = {},
      chunked = false,
    }: { method?: string; body?: string; headers?: Record<string, string>; chunked?: boolean } = {},
  ) =>
    new Promise<Reply>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          headers: {
            ...headers,
            ...(body !== undefined && !chunked
              ? { 'content-length': String(Buffer.byteLength(body)) }
              : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: text }),
          );
        },
      );
      req.on('error', reject);
      if (chunked && body !== undefined) req.write(body);
      req.end(chunked ? undefined : body);
    });

  /** Which path answered: the fast path, or Hono's listener. */
  const via = async (
    work: () => Promise<Reply>,
  ): Promise<{ reply: Reply; by: 'fast' | 'hono' }> => {
    const before = honoCalls;
    const reply = await work();
    return { reply, by: honoCalls === before ? 'fast' : 'hono' };
  };
  /** The answer's header names and values, minus the per-connection ones and the invocation id. */
  const answerHeaders = (r: Reply) =>
    Object.fromEntries(
      Object.entries(r.headers).filter(([k]) => !PER_CONNECTION.has(k) && k !== 'x-invocation-id'),
    );
  const asResponse = (r: Reply) =>
    new Response(r.body, { status: r.status, headers: r.headers as Record<string, string> });

  test('a call: the result as the body, with the same headers as through Hono', async () => {
    const event = { hello: 'wörld', n: [1, 2.5, null] };
    const { reply: fast, by } = await via(() =>
      send('/functions/echo/invoke', {
        body: JSON.stringify(event),
        headers: { 'content-type': 'application/json' },
      }),
    );
    assert.equal(by, 'fast');
    assert.equal(fast.status, 200);
    assert.deepEqual(JSON.parse(fast.body), { echo: event });
    assert.match(String(fast.headers['x-invocation-id']), UUID);
    assert.equal(fast.headers['x-cold-start'], 'false');
    assert.equal(fast.headers['content-type'], 'application/json');
    assert.equal(Number(fast.headers['content-length']), Buffer.byteLength(fast.body));

    // A query string sends the same call through Hono's route (it ignores unknown parameters).
    const { reply: hono, by: honoBy } = await via(() =>
      send('/functions/echo/invoke?via=hono', { body: JSON.stringify(event) }),
    );
    assert.equal(honoBy, 'hono');
    assert.equal(hono.body, fast.body);
    assert.deepEqual(answerHeaders(fast), answerHeaders(hono));
    assert.equal(fast.headers.connection, 'keep-alive');
  });

  test('an empty body is the event null; bad JSON is the same 400 invalid_json as through Hono', async () => {
    const { reply: empty, by } = await via(() => send('/functions/echo/invoke', { body: '' }));
    assert.equal(by, 'fast');
    assert.deepEqual(JSON.parse(empty.body), { echo: null });

    const { reply: bad, by: badBy } = await via(() =>
      send('/functions/echo/invoke', { body: '{"a":' }),
    );
    assert.equal(badBy, 'fast');
    assert.equal(bad.status, 400);
    assert.equal((await errorOf(asResponse(bad))).code, 'invalid_json');
    const hono = await send('/functions/echo/invoke?via=hono', { body: '{"a":' });
    assert.equal(bad.body, hono.body);
    assert.deepEqual(answerHeaders(bad), answerHeaders(hono));
  });

  test('a function error: the same 500 function_error body and headers as through Hono', async () => {
    const { reply: fast, by } = await via(() => send('/functions/boom/invoke', { body: '{}' }));
    assert.equal(by, 'fast');
    assert.equal(fast.status, 500);
    assert.deepEqual(await errorOf(asResponse(fast)), {
      code: 'function_error',
      message: 'the widget is on fire',
      details: { name: 'TypeError' },
    });
    const hono = await send('/functions/boom/invoke?via=hono', { body: '{}' });
    assert.equal(hono.status, 500);
    assert.equal(fast.body, hono.body);
    assert.deepEqual(answerHeaders(fast), answerHeaders(hono));
    // and in-process, as the other integration tests see it
    const inProcess = await h.invoke('boom', {});
    assert.equal(fast.body, await inProcess.text());
  });

  test('past queue_max: 429 overloaded with Retry-After, as through Hono', async () => {
    const replies = await Promise.all(
      [0, 1, 2].map(() => send('/functions/busy/invoke', { body: '{}' })),
    );
    assert.deepEqual(replies.map((r) => r.status).sort(), [200, 200, 429]);
    const refused = replies.find((r) => r.status === 429)!;
    assert.ok(
      Number(refused.headers['retry-after']) >= 1,
      `Retry-After: ${refused.headers['retry-after']}`,
    );
    assert.equal((await errorOf(asResponse(refused))).code, 'overloaded');
  });

  test('an unknown function: 404 not_found, the same as in-process', async () => {
    const { reply, by } = await via(() => send('/functions/nope/invoke', { body: '{}' }));
    assert.equal(by, 'hono');
    assert.equal(reply.status, 404);
    assert.equal((await errorOf(asResponse(reply))).code, 'not_found');
    assert.equal(reply.body, await (await h.invoke('nope', {})).text());
  });

  test('a body over max_body_bytes: 413 payload_too_large, with a declared length or chunked', async () => {
    const big = JSON.stringify({ big: 'x'.repeat(MAX_BODY) });
    for (const chunked of [false, true]) {
      const reply = await send('/functions/echo/invoke', { body: big, chunked });
      assert.equal(reply.status, 413, `chunked: ${chunked}`);
      assert.equal((await errorOf(asResponse(reply))).code, 'payload_too_large');
    }
    // a chunked body under the limit is served (by Hono's streaming limit)
    const { reply: small, by } = await via(() =>
      send('/functions/echo/invoke', { body: '{"a":1}', chunked: true }),
    );
    assert.equal(by, 'hono');
    assert.deepEqual(JSON.parse(small.body), { echo: { a: 1 } });
  });

  test('an auth: token function: 401 without the token, 200 with it, on the fast path', async () => {
    const { reply: anon, by } = await via(() => send('/functions/guarded/invoke', { body: '{}' }));
    assert.equal(by, 'fast');
    assert.equal(anon.status, 401);
    assert.equal((await errorOf(asResponse(anon))).code, 'unauthorized');
    assert.match(String(anon.headers['www-authenticate']), /^Bearer/);
    const wrong = await send('/functions/guarded/invoke', {
      body: '{}',
      headers: { authorization: `Bearer ${TOKEN}x` },
    });
    assert.equal(wrong.status, 401);
    const { reply: right, by: rightBy } = await via(() =>
      send('/functions/guarded/invoke', {
        body: '{}',
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
    );
    assert.equal(rightBy, 'fast');
    assert.equal(right.status, 200);
    assert.deepEqual(JSON.parse(right.body), { guarded: true });
  });

  test('other routes and methods are still Hono’s', async () => {
    const { reply: list, by } = await via(() => send('/functions', { method: 'GET' }));
    assert.equal(by, 'hono');
    assert.equal(list.status, 200);
    assert.deepEqual(
      (JSON.parse(list.body) as { functions: Array<{ name: string }> }).functions
        .map((f) => f.name)
        .sort(),
      ['boom', 'busy', 'echo', 'guarded'],
    );
    const { reply: get, by: getBy } = await via(() =>
      send('/functions/echo/invoke', { method: 'GET' }),
    );
    assert.equal(getBy, 'hono');
    assert.equal(get.status, 404);
    assert.equal(
      (await send('/reload', { body: '' })).status,
      401,
      'management routes keep their token check',
    );
  });
});
