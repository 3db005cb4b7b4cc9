// HTTP functions on the real engine (issue #12): `/function/<name>/<path>` takes every method, the
// path, the query and the headers, and any body byte for byte; the handler sets the status, the
// headers and any body, or returns a value that is a 200 JSON answer. Node and Python alike, over a
// real port (the fast path) and through Hono's route (chunked bodies, in-process), on the one invoke
// path: 405 with Allow, 404, 413, deadlines, x-invocation-id, per-invocation logs and metrics. Every
// malformed answer is 502 invalid_response, never a malformed response.
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { defaultConfig } from '../../runtime/config.ts';
import { ensureRuntimeImage } from '../../runtime/image/runtime-image.ts';
import {
  containersOf,
  errorOf,
  eventually,
  fn,
  startHarness,
  testEngine,
  type FunctionFiles,
  type Harness,
} from '../helpers/harness.ts';

const MAX_BODY = 4096;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
/** Every byte value once: not UTF-8, so it travels as base64 both ways. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

const py = (source: string, manifest = ''): FunctionFiles => ({
  'function.yaml': `runtime: python\n${manifest}`,
  'main.py': source,
});

const FUNCTIONS: Record<string, FunctionFiles> = {
  // A plain value: the 200 JSON answer, here the event and the trigger as the handler saw them.
  echo: fn(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a handler's source, with its own template
    'export default async (event, context) => { console.log(`echo ${event.method} ${event.path}`); return { event, trigger: context.trigger }; }',
  ),
  // The body's bytes back, with the request's content type.
  bytes: fn(`export default async (event) => ({
    statusCode: 200,
    headers: { 'content-type': event.headers['content-type'] ?? 'application/octet-stream', 'x-was-base64': String(event.isBase64Encoded) },
    body: event.isBase64Encoded ? event.body : Buffer.from(event.body, 'utf8').toString('base64'),
    isBase64Encoded: true,
  });`),
  // Answers whatever the request body says (JSON): the tests drive every answer through it.
  answer: fn('export default async (event) => JSON.parse(event.body);'),
  limited: fn(
    'export default async (event) => ({ method: event.method });',
    'http:\n  methods: [get, POST]\n',
  ),
  slow: fn(
    'export default async () => { await new Promise((r) => setTimeout(r, 3000)); return "late"; }',
    'timeout_sec: 0.5\n',
  ),
  pyecho: py(
    'def handler(event, context):\n    return {"event": event, "trigger": context.trigger}\n',
  ),
  pybytes: py(`import base64
def handler(event, context):
    raw = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode("utf-8")
    return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"}, "body": base64.b64encode(raw).decode("ascii"), "isBase64Encoded": True}
`),
  pyanswer: py('import json\ndef handler(event, context):\n    return json.loads(event["body"])\n'),
};

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

describe('HTTP functions', () => {
  let h: Harness;
  let port: number;
  /** requests that reached Hono's listener; the rest took the fast path */
  let honoCalls = 0;

  before(async () => {
    await ensureRuntimeImage(testEngine(), defaultConfig().sandbox.pythonImage, {
      kind: 'python',
    });
    h = await startHarness(FUNCTIONS, {
      gateway: { max_body_bytes: MAX_BODY },
      events: { embedded_redis: false },
    });
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

  /** One request over the port, any bytes as the body; `chunked` sends it without a content-length. */
  const send = (
    path: string,
    {
      method = 'GET',
      body,
      headers = {},
      chunked = false,
    }: {
      method?: string;
      body?: string | Buffer;
      headers?: Record<string, string>;
      chunked?: boolean;
    } = {},
  ) =>
    new Promise<Reply>((resolve, reject) => {
      const length =
        body !== undefined && !chunked ? { 'content-length': String(Buffer.byteLength(body)) } : {};
      const req = request(
        { host: '127.0.0.1', port, method, path, headers: { ...headers, ...length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const all = Buffer.concat(chunks);
            resolve({
              status: res.statusCode!,
              headers: res.headers,
              body: all,
              text: all.toString('utf8'),
            });
          });
        },
      );
      req.on('error', reject);
      if (chunked && body !== undefined) req.write(body);
      req.end(chunked ? undefined : body);
    });
  /** Which path answered. */
  const via = async (
    work: () => Promise<Reply>,
  ): Promise<{ reply: Reply; by: 'fast' | 'hono' }> => {
    const before = honoCalls;
    const reply = await work();
    return { reply, by: honoCalls === before ? 'fast' : 'hono' };
  };
  const json = (r: Reply) => JSON.parse(r.text);
  const asResponse = (r: Reply) =>
    new Response(r.body.length ? r.text : null, {
      status: r.status,
      headers: r.headers as Record<string, string>,
    });
  /** The answer `answer` (or `pyanswer`) gives for `spec`. */
  const answerOf = (spec: unknown, fnName = 'answer', method = 'POST') =>
    send(`/function/${fnName}`, {
      method,
      body: JSON.stringify(spec),
      headers: { 'content-type': 'application/json' },
    });

  test('every method reaches the handler, as `event.method` and in context.trigger; HEAD answers without a body', async () => {
    let get: Reply | undefined;
    for (const method of METHODS) {
      const { reply, by } = await via(() => send('/function/echo', { method }));
      assert.equal(by, 'fast', method);
      assert.equal(reply.status, 200, `${method}: ${reply.text}`);
      assert.match(String(reply.headers['x-invocation-id']), UUID);
      assert.equal(reply.headers['x-cold-start'], 'false');
      assert.equal(reply.headers['content-type'], 'application/json');
      if (method === 'HEAD') {
        assert.equal(reply.body.length, 0, 'HEAD: no body');
        // The length a GET's body has, but for the method named twice in it (event and trigger).
        assert.equal(
          Number(reply.headers['content-length']),
          get!.body.length + 2 * ('HEAD'.length - 'GET'.length),
        );
        continue;
      }
      assert.equal(Number(reply.headers['content-length']), reply.body.length);
      const { event, trigger } = json(reply);
      assert.equal(event.method, method);
      assert.deepEqual(trigger, { kind: 'http', route: 'function', method, path: '/' });
      if (method === 'GET') get = reply;
    }
    // In-process (Hono's route): the same.
    for (const method of METHODS.filter((m) => m !== 'HEAD')) {
      const res = await h.request('/function/echo/x', { method });
      assert.equal(res.status, 200, method);
      assert.deepEqual(((await res.json()) as { trigger: unknown }).trigger, {
        kind: 'http',
        route: 'function',
        method,
        path: '/x',
      });
    }
    const head = await h.request('/function/echo/x', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('sub-paths and query strings: the path as sent, the raw query, and the query decoded with repeated keys as arrays', async () => {
    const target =
      '/function/echo/a/b%20c/%F0%9F%90%B1//d?x=1&x=2&x=3&y=a+b%2Bc&z=%E2%9C%93&empty&=v&k=&__proto__=p&bad=%zz';
    const { reply, by } = await via(() => send(target));
    assert.equal(by, 'fast');
    const { event, trigger } = json(reply);
    assert.equal(event.path, '/a/b%20c/%F0%9F%90%B1//d');
    assert.equal(trigger.path, event.path);
    assert.equal(
      event.rawQuery,
      'x=1&x=2&x=3&y=a+b%2Bc&z=%E2%9C%93&empty&=v&k=&__proto__=p&bad=%zz',
    );
    assert.deepEqual(event.query, {
      x: ['1', '2', '3'],
      y: 'a b+c',
      z: '✓',
      empty: '',
      '': 'v',
      k: '',
      ['__proto__']: 'p',
      bad: '%zz',
    });
    // No sub-path, a bare slash and a bare query all have the path `/`.
    for (const [url, rawQuery] of [
      ['/function/echo', ''],
      ['/function/echo/', ''],
      ['/function/echo?only', 'only'],
      ['/function/echo/?a=1', 'a=1'],
    ] as const) {
      const { event: e } = json(await send(url));
      assert.deepEqual([e.path, e.rawQuery], ['/', rawQuery], url);
    }
    // Through Hono (a chunked body) the raw target is read the same way.
    const { reply: hono, by: honoBy } = await via(() =>
      send(target, { method: 'POST', body: 'x', chunked: true }),
    );
    assert.equal(honoBy, 'hono');
    const viaHono = json(hono).event;
    assert.deepEqual(
      [viaHono.path, viaHono.rawQuery, viaHono.query],
      [event.path, event.rawQuery, event.query],
    );
  });

  test('headers: lower-case names, repeated ones joined; cookies and hop-by-hop headers are left out', async () => {
    const raw = await new Promise<Reply>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'GET',
          path: '/function/echo',
          headers: [
            'Host',
            `127.0.0.1:${port}`,
            'X-Custom',
            'One',
            'x-custom',
            'Two',
            'Accept',
            'text/csv',
            'Cookie',
            'session=secret',
            'Connection',
            'keep-alive, X-Hop',
            'X-Hop',
            'gone',
            'Keep-Alive',
            'timeout=5',
            'TE',
            'trailers',
            'Proxy-Authorization',
            'Basic eDp5',
          ] as unknown as Record<string, string>,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode!,
              headers: res.headers,
              body: Buffer.concat(chunks),
              text: Buffer.concat(chunks).toString(),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(raw.status, 200, raw.text);
    const { headers } = json(raw).event;
    assert.deepEqual(headers, {
      'x-custom': 'One, Two',
      accept: 'text/csv',
      host: `127.0.0.1:${port}`,
    });
  });

  test('a binary upload (all 256 byte values) arrives as base64 and comes back byte for byte, on both paths and from Python', async () => {
    for (const [fnName, chunked] of [
      ['bytes', false],
      ['bytes', true],
      ['pybytes', false],
    ] as const) {
      const { reply, by } = await via(() =>
        send(`/function/${fnName}/upload`, {
          method: 'PUT',
          body: ALL_BYTES,
          chunked,
          headers: { 'content-type': 'image/x-test' },
        }),
      );
      assert.equal(by, chunked ? 'hono' : 'fast');
      assert.equal(reply.status, 200, reply.text);
      assert.ok(
        reply.body.equals(ALL_BYTES),
        `${fnName}${chunked ? ' chunked' : ''}: the same 256 bytes`,
      );
      assert.equal(Number(reply.headers['content-length']), 256);
      if (fnName === 'bytes')
        assert.deepEqual(
          [reply.headers['content-type'], reply.headers['x-was-base64']],
          ['image/x-test', 'true'],
        );
    }
    // UTF-8 text stays text, a BOM and a NUL included; anything else is base64.
    const text = Buffer.from('\uFEFFgrüße\u0000✓', 'utf8');
    const { event } = json(await send('/function/echo', { method: 'POST', body: text }));
    assert.deepEqual([event.body, event.isBase64Encoded], ['\uFEFFgrüße\u0000✓', false]);
    const latin1 = Buffer.from('grüße', 'latin1');
    const bin = json(await send('/function/echo', { method: 'POST', body: latin1 })).event;
    assert.deepEqual([bin.body, bin.isBase64Encoded], [latin1.toString('base64'), true]);
    const empty = json(await send('/function/echo', { method: 'POST', body: '' })).event;
    assert.deepEqual([empty.body, empty.isBase64Encoded], ['', false]);
  });

  test('the handler sets status, headers (lists included) and content type; other values are 200 JSON', async () => {
    const csv = await answerOf({
      statusCode: 201,
      headers: {
        'Content-Type': 'text/csv; charset=utf-8',
        'X-List': ['a', 'b'],
        Location: '/orders/7',
        'cache-control': 'no-store',
      },
      body: 'id,item\n7,book\n',
    });
    assert.equal(csv.status, 201);
    assert.equal(csv.text, 'id,item\n7,book\n');
    assert.equal(csv.headers['content-type'], 'text/csv; charset=utf-8');
    assert.equal(csv.headers['x-list'], 'a, b', 'a list is one field, its values joined');
    assert.equal(csv.headers.location, '/orders/7');
    assert.equal(csv.headers['cache-control'], 'no-store');
    assert.equal(
      Number(csv.headers['content-length']),
      Buffer.byteLength('id,item\n7,book\n'),
      'content-length is the gateway’s',
    );
    assert.match(String(csv.headers['x-invocation-id']), UUID);

    const redirect = await answerOf({
      statusCode: 302,
      headers: { location: 'https://example.org/elsewhere' },
    });
    assert.deepEqual(
      [
        redirect.status,
        redirect.headers.location,
        redirect.text,
        redirect.headers['content-length'],
      ],
      [302, 'https://example.org/elsewhere', '', '0'],
    );
    // Defaults: text is text/plain, base64 octet-stream; a 404 of the function's own is an answer, not an error.
    const plain = await answerOf({ statusCode: 404, body: 'no such order' });
    assert.deepEqual(
      [plain.status, plain.headers['content-type'], plain.text],
      [404, 'text/plain; charset=utf-8', 'no such order'],
    );
    const octets = await answerOf({
      statusCode: 200,
      body: Buffer.from([0, 1, 2]).toString('base64'),
      isBase64Encoded: true,
    });
    assert.deepEqual(
      [octets.headers['content-type'], [...octets.body]],
      ['application/octet-stream', [0, 1, 2]],
    );
    // 204 and 304 carry neither body nor content-length; 205 says its length is 0.
    for (const statusCode of [204, 304]) {
      const r = await answerOf({ statusCode, headers: { etag: '"v1"' } });
      assert.deepEqual(
        [r.status, r.text, r.headers['content-length'], r.headers.etag],
        [statusCode, '', undefined, '"v1"'],
      );
    }
    const reset = await answerOf({ statusCode: 205, body: '' });
    assert.deepEqual([reset.status, reset.headers['content-length']], [205, '0']);
    // Not an answer (no statusCode): the value itself as JSON, as on the JSON route.
    const value = await answerOf({ status: 201, headers: { a: 1 } });
    assert.deepEqual(
      [value.status, value.headers['content-type'], json(value)],
      [200, 'application/json', { status: 201, headers: { a: 1 } }],
    );
    const list = await answerOf([1, 'two', null]);
    assert.deepEqual(json(list), [1, 'two', null]);
    // HEAD of an answer with a body: its headers and length, no body.
    const head = await send('/function/echo', { method: 'HEAD' });
    assert.equal(head.body.length, 0);
    assert.ok(Number(head.headers['content-length']) > 0);
  });

  test('malformed answers are 502 invalid_response saying what is wrong, from Node and from Python', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { statusCode: 200, headers: { 'x-a': 'one\r\nset-cookie: stolen=1' } },
        /header "x-a" has a value with a character a header may not hold/,
      ],
      [{ statusCode: 200, headers: { 'x-a': 'one\nx-b: two' } }, /character a header may not hold/],
      [{ statusCode: 200, headers: { 'x-a': 'nul\u0000' } }, /character a header may not hold/],
      [{ statusCode: 200, headers: { 'x-a': 'check ✓' } }, /beyond U\+00FF/],
      [
        { statusCode: 200, headers: { connection: 'close' } },
        /header "connection" is the gateway's to set/,
      ],
      [
        { statusCode: 200, headers: { 'Transfer-Encoding': 'chunked' } },
        /header "Transfer-Encoding" is the gateway's to set/,
      ],
      [
        { statusCode: 200, headers: { 'content-length': '1' } },
        /header "content-length" is the gateway's to set/,
      ],
      [
        { statusCode: 200, headers: { 'x-invocation-id': 'forged' } },
        /header "x-invocation-id" is the gateway's to set/,
      ],
      [
        { statusCode: 200, headers: { upgrade: 'websocket' } },
        /header "upgrade" is the gateway's to set/,
      ],
      [
        { statusCode: 200, headers: { 'bad name': 'x' } },
        /header name "bad name" is not a valid HTTP field name/,
      ],
      [
        { statusCode: 200, headers: { 'x-a:': 'x' } },
        /header name "x-a:" is not a valid HTTP field name/,
      ],
      [{ statusCode: 200, headers: { '': 'x' } }, /header name "" is not a valid HTTP field name/],
      [
        { statusCode: 200, headers: { 'x-n': 3 } },
        /header "x-n" must be a string or a non-empty list of strings \(got number\)/,
      ],
      [
        { statusCode: 200, headers: { 'x-n': [] } },
        /must be a string or a non-empty list of strings \(got array\)/,
      ],
      [
        { statusCode: 200, headers: { 'x-n': ['a', ['b']] } },
        /must be a string or a non-empty list of strings/,
      ],
      [{ statusCode: 200, headers: { 'X-A': '1', 'x-a': '2' } }, /header "x-a" is given twice/],
      [
        { statusCode: 200, headers: ['x-a', '1'] },
        /headers must be an object of names to values \(got array\)/,
      ],
      [{ statusCode: 99 }, /statusCode must be an integer from 200 to 599 \(got 99\)/],
      [{ statusCode: 600 }, /statusCode must be an integer from 200 to 599 \(got 600\)/],
      [{ statusCode: '200' }, /statusCode must be an integer from 200 to 599 \(got "200"\)/],
      [{ statusCode: 200.5 }, /statusCode must be an integer/],
      [{ statusCode: null }, /statusCode must be an integer/],
      [{ statusCode: 100 }, /statusCode 100 is an interim \(1xx\) status/],
      [
        { statusCode: 101, headers: { upgrade: 'h2c' } },
        /statusCode 101 is an interim \(1xx\) status/,
      ],
      [{ statusCode: 200, body: { a: 1 } }, /body must be a string \(got object/],
      [{ statusCode: 200, body: 'not base64!', isBase64Encoded: true }, /body is not base64/],
      [{ statusCode: 200, isBase64Encoded: 'yes' }, /isBase64Encoded must be true or false/],
      [{ statusCode: 204, body: 'content' }, /a 204 answer has no body \(got 7 bytes\)/],
      [
        { statusCode: 200, multiValueHeaders: { a: ['1'] } },
        /unknown key "multiValueHeaders"; an answer has statusCode, headers, body, isBase64Encoded/,
      ],
    ];
    for (const fnName of ['answer', 'pyanswer']) {
      for (const [spec, message] of cases) {
        const r = await answerOf(spec, fnName);
        assert.equal(r.status, 502, `${fnName} ${JSON.stringify(spec)}: ${r.text}`);
        const e = await errorOf(asResponse(r));
        assert.equal(e.code, 'invalid_response');
        assert.match(
          e.message,
          new RegExp(`^function '${fnName}' answered an invalid HTTP answer: `),
        );
        assert.match(e.message, message, JSON.stringify(spec));
        assert.equal(r.headers['set-cookie'], undefined);
        assert.match(
          String(r.headers['x-invocation-id']),
          UUID,
          'the invocation is named, to find its logs',
        );
      }
    }
    // Through Hono's route the same refusal.
    const viaHono = await send('/function/answer', {
      method: 'POST',
      body: JSON.stringify(cases[0]![0]),
      chunked: true,
    });
    assert.equal(viaHono.status, 502);
    assert.equal((await errorOf(asResponse(viaHono))).code, 'invalid_response');
  });

  test('a method the manifest leaves out is 405 method_not_allowed with Allow; GET brings HEAD', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const r = await send('/function/limited', { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD, POST');
      const e = await errorOf(asResponse(r));
      assert.deepEqual(e, {
        code: 'method_not_allowed',
        message: `function 'limited' does not take ${method} requests; it takes GET, HEAD, POST`,
        details: { allow: ['GET', 'HEAD', 'POST'] },
      });
    }
    for (const method of ['GET', 'HEAD', 'POST'])
      assert.equal((await send('/function/limited', { method })).status, 200, method);
    // A method outside the seven: refused the same way, before the body (a function taking every method).
    const { reply, by } = await via(() =>
      send('/function/echo', { method: 'PROPFIND', body: '<x/>' }),
    );
    assert.equal(by, 'fast');
    assert.equal(
      reply.headers.connection,
      'close',
      'the unread body is not read to keep the connection',
    );
    assert.equal(reply.status, 405);
    assert.equal(reply.headers.allow, 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    assert.equal((await errorOf(asResponse(reply))).code, 'method_not_allowed');
    const inProcess = await h.request('/function/limited', { method: 'DELETE' });
    assert.equal(inProcess.status, 405);
    assert.equal(inProcess.headers.get('allow'), 'GET, HEAD, POST');
  });

  test('unknown functions, bad names, dot segments and oversized bodies get the usual errors', async () => {
    const missing = await send('/function/nope/x');
    assert.equal(missing.status, 404);
    assert.deepEqual(await errorOf(asResponse(missing)), {
      code: 'not_found',
      message: "no function named 'nope'",
    });
    const badName = await send('/function/No_Such');
    assert.equal(badName.status, 400);
    assert.equal((await errorOf(asResponse(badName))).code, 'invalid_name');
    for (const path of ['/function/echo/a/../b', '/function/echo/%2e%2E/x', '/function/echo/.']) {
      const r = await send(path);
      assert.equal(r.status, 400, path);
      const e = await errorOf(asResponse(r));
      assert.equal(e.code, 'invalid_request', path);
      assert.match(e.message, /has a '\.' or '\.\.' segment or a backslash; send it resolved/);
    }
    const big = Buffer.alloc(MAX_BODY + 1, 0x61);
    for (const chunked of [false, true]) {
      const r = await send('/function/bytes', { method: 'POST', body: big, chunked });
      assert.equal(r.status, 413, `chunked: ${chunked}`);
      assert.equal((await errorOf(asResponse(r))).code, 'payload_too_large');
    }
  });

  test('the JSON route keeps its contract: the body is the event, trigger { kind: "http" }', async () => {
    const res = await h.invoke('echo', { a: 1 });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { event: { a: 1 }, trigger: { kind: 'http' } });
  });

  test('deadlines, per-invocation logs and metrics are those of the one invoke path', async () => {
    const late = await send('/function/slow');
    assert.equal(late.status, 504);
    assert.equal((await errorOf(asResponse(late))).code, 'timeout');
    assert.match(String(late.headers['x-invocation-id']), UUID);

    const metric = async (labels: string) => {
      const line = (await (await h.request('/metrics')).text())
        .split('\n')
        .find((l) => l.startsWith(`titan_http_invocations_total{${labels}} `));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const okBefore = await metric('function="echo",method="PATCH",status_class="2xx"');
    const badBefore = await metric('function="answer",method="POST",status_class="5xx"');
    const r = await send('/function/echo/logged', { method: 'PATCH' });
    assert.equal(r.status, 200);
    await answerOf({ statusCode: 200, headers: { connection: 'x' } });
    assert.equal(await metric('function="echo",method="PATCH",status_class="2xx"'), okBefore + 1);
    assert.equal(await metric('function="answer",method="POST",status_class="5xx"'), badBefore + 1);
    // The function's 4xx is a 4xx, an outcome of `ok`; a malformed answer is the invocation's outcome.
    const notFoundBefore = await metric('function="answer",method="POST",status_class="4xx"');
    await answerOf({ statusCode: 404 });
    assert.equal(
      await metric('function="answer",method="POST",status_class="4xx"'),
      notFoundBefore + 1,
    );
    const text = await (await h.request('/metrics')).text();
    assert.match(
      text,
      /titan_invocations_total\{function="answer",outcome="invalid_response"\} [1-9]/,
    );
    assert.doesNotMatch(
      text,
      /titan_http_invocations_total\{[^}]*function="nope"/,
      'unknown names are no label',
    );

    const id = String(r.headers['x-invocation-id']);
    const logs = await eventually(async () => {
      const res = await h.request(`/invocations/${id}/logs`);
      return res.status === 200
        ? ((await res.json()) as { lines: Array<{ text: string }> }).lines
        : undefined;
    });
    assert.deepEqual(
      logs?.map((l) => l.text),
      ['echo PATCH /logged'],
    );
  });

  test('Python: every method, the query, the trigger and the answer, as for Node', async () => {
    for (const method of METHODS.filter((m) => m !== 'HEAD')) {
      const r = await send('/function/pyecho/a/b?x=1&x=2', {
        method,
        body: method === 'GET' ? undefined : 'grüße',
        headers: { 'X-Thing': 'yes' },
      });
      assert.equal(r.status, 200, `${method}: ${r.text}`);
      const { event, trigger } = json(r);
      assert.deepEqual(trigger, { kind: 'http', route: 'function', method, path: '/a/b' });
      assert.deepEqual(
        [event.method, event.path, event.rawQuery, event.query, event.headers['x-thing']],
        [method, '/a/b', 'x=1&x=2', { x: ['1', '2'] }, 'yes'],
      );
      assert.deepEqual(
        [event.body, event.isBase64Encoded],
        [method === 'GET' ? '' : 'grüße', false],
      );
    }
    const head = await send('/function/pyecho', { method: 'HEAD' });
    assert.deepEqual([head.status, head.body.length], [200, 0]);
    const r = await answerOf(
      {
        statusCode: 418,
        headers: { 'content-type': 'text/html; charset=utf-8', 'x-l': ['1', '2'] },
        body: '<p>teapot</p>',
      },
      'pyanswer',
    );
    assert.deepEqual(
      [r.status, r.headers['content-type'], r.headers['x-l'], r.text],
      [418, 'text/html; charset=utf-8', '1, 2', '<p>teapot</p>'],
    );
  });
});
