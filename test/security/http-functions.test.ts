// Hostile probes against `/function/<name>` (issue #12 on issue #10's boundaries). A function author
// answers anything a container can send: no answer may speak for the gateway (CORS, cookies on the
// host, framing, hop-by-hop), split a response or flood its headers; a function's page shares the
// gateway's origin, so the pages it serves may reach neither management routes nor protected
// functions. Web pages and clients meet the same Host/Origin rules, CORS and token rules as on every
// other route, before any body is read; a function never receives the admin token or the cookies
// of the host.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { defaultConfig } from '../../runtime/config.ts';
import { ensureRuntimeImage } from '../../runtime/image/runtime-image.ts';
import { sendRaw, type Reply } from '../helpers/raw-http.ts';
import {
  errorOf,
  fn,
  newHarnessDir,
  startHarness,
  testEngine,
  type FunctionFiles,
  type Harness,
} from '../helpers/harness.ts';

const TOKEN = 'http functions token';
const TRUSTED = 'http://trusted.test';
const EVIL = 'http://evil.example';
const SECRET = 'a host file only the admin may have read\n';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A hostile container: its bootstrap's answer replaced, byte for byte, by the request body (Node's
 * ServerResponse patched from the handler's module), as a function author who owns the process can.
 */
const RAW_ANSWER = `import http from 'node:http';
let pending;
const { writeHead, end } = http.ServerResponse.prototype;
http.ServerResponse.prototype.writeHead = function (status, headers) {
  if (pending !== undefined && headers && headers['x-titan-outcome'] === 'ok') {
    this.raw = pending;
    pending = undefined;
    headers = { ...headers, 'content-length': Buffer.byteLength(this.raw) };
  }
  return writeHead.call(this, status, headers);
};
http.ServerResponse.prototype.end = function (chunk, ...rest) { return end.call(this, this.raw ?? chunk, ...rest); };
export default async (event) => { pending = event.body; return null; };
`;

/** A function's page whose script tries what only the admin's clients may do, and one thing any page may. */
const PROBING_PAGE = `export default async () => ({ statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: \`<!doctype html><title>a function's page</title>
<script>
window.results = (async () => {
  const out = {};
  const probe = async (name, url, init) => { try { out[name] = (await fetch(url, init)).status; } catch (e) { out[name] = String(e); } };
  await probe('reload', '/reload', { method: 'POST' });
  await probe('readerInvoke', '/functions/reader/invoke', { method: 'POST', body: '{}' });
  await probe('readerFunction', '/function/reader');
  await probe('readerLogs', '/functions/reader/logs');
  await probe('echo', '/function/echo', { method: 'POST', body: 'hi' });
  await probe('list', '/functions');
  return out;
})();
</script>\` });`;

/** One request over a port with exactly these headers (Node adds only Host and the length). */
const send = sendRaw;

/** The raw answer to a POST of `body`, as bytes on the wire (the connection closed after it). */
function onTheWire(port: number, path: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () =>
      s.write(
        `POST ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      ),
    );
    let text = '';
    s.on('data', (d) => (text += d));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
}

/** Asserts the exact refusal: status and error code; returns the message. */
async function refused(r: Reply | Response, status: number, code: string): Promise<string> {
  const res =
    r instanceof Response
      ? r
      : new Response(r.body, { status: r.status, headers: r.headers as Record<string, string> });
  assert.equal(res.status, status);
  const e = await errorOf(res);
  assert.equal(e.code, code);
  return e.message;
}

/** A function's invocations so far, every outcome, from /metrics. */
async function runs(h: Harness, name: string): Promise<number> {
  const text = await (await h.request('/metrics')).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('titan_invocations_total{') && l.includes(`function="${name}"`))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** Only the headers of a request declaring a 4096-byte body; resolves with the status of whatever answers. */
function statusBeforeBody(
  port: number,
  path: string,
  method = 'POST',
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: { ...headers, 'content-length': '4096' },
      },
      (res) => {
        resolve(res.statusCode!);
        req.destroy();
      },
    );
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.flushHeaders();
  });
}

/** A gateway with `reader` (mounts an inbox holding SECRET) besides `functions`. */
async function start(
  functions: Record<string, FunctionFiles>,
  overrides: Parameters<typeof startHarness>[1],
  adminToken?: string,
): Promise<{ h: Harness; port: number }> {
  const dir = await newHarnessDir();
  const inbox = join(dir, 'inbox');
  await mkdir(inbox);
  await writeFile(join(inbox, 'secret.txt'), SECRET);
  const reader = fn(
    `import { readFile } from 'node:fs/promises';\nexport default async () => ({ text: await readFile(${JSON.stringify(join(inbox, 'secret.txt'))}, 'utf8') });`,
    `permissions:\n  fs:\n    allow: [${JSON.stringify(inbox)}]\n`,
  );
  const h = await startHarness(
    { ...functions, reader },
    { ...overrides, sandbox: { fs_roots: [inbox] }, events: { embedded_redis: false } },
    { dir, adminToken },
  );
  return { h, port: await h.gw.listen() };
}

describe('/function on a loopback gateway without a token, against hostile functions and pages', () => {
  let h: Harness;
  let port: number;
  let gwOrigin: string;
  const answer = (spec: unknown, headers: Record<string, string> = {}) =>
    send(port, '/function/answer', { method: 'POST', body: JSON.stringify(spec), headers });

  before(async () => {
    await ensureRuntimeImage(testEngine(), defaultConfig().sandbox.image);
    ({ h, port } = await start(
      {
        answer: fn('export default async (event) => JSON.parse(event.body);'),
        echo: fn('export default async (event) => ({ event });'),
        raw: fn(RAW_ANSWER, 'pool: { min: 1, max: 1, concurrency: 1 }\n'),
        page: fn(PROBING_PAGE),
      },
      {
        gateway: {
          allowed_hosts: ['titan.test'],
          cors: { allow_origins: [TRUSTED], allow_headers: [], max_age_sec: 60 },
        },
      },
    ));
    gwOrigin = `http://127.0.0.1:${port}`;
  });
  after(() => h?.close());

  test('a function may not grant CORS: access-control-allow-origin: * (or any access-control-*) is 502; the gateway’s grant stands', async () => {
    for (const name of [
      'access-control-allow-origin',
      'Access-Control-Allow-Credentials',
      'access-control-expose-headers',
    ]) {
      const message = await refused(
        await answer({
          statusCode: 200,
          headers: { [name]: name.endsWith('origin') ? '*' : 'true' },
          body: 'x',
        }),
        502,
        'invalid_response',
      );
      assert.match(message, new RegExp(`header "${name}" is the gateway's to set`));
    }
    // From the listed origin: the refusal is readable by that origin only (the gateway's grant, never *).
    const r = await answer(
      { statusCode: 200, headers: { 'access-control-allow-origin': '*' } },
      { origin: TRUSTED },
    );
    await refused(r, 502, 'invalid_response');
    assert.equal(r.headers['access-control-allow-origin'], TRUSTED);
    const ok = await answer(
      { statusCode: 200, headers: { vary: 'Accept' }, body: 'fine' },
      { origin: TRUSTED },
    );
    assert.deepEqual(
      [ok.status, ok.headers['access-control-allow-origin'], ok.headers.vary],
      [200, TRUSTED, 'Accept, Origin'],
    );
  });

  test('a function may not widen its service worker’s scope past /function/<name>/ (service-worker-allowed is 502)', async () => {
    // With `Service-Worker-Allowed: /` a worker registered by a function's page would control every
    // page of the origin: the dashboard (and the token it sends), other functions' pages.
    for (const value of ['/', '/ui/']) {
      const r = await answer({
        statusCode: 200,
        headers: { 'content-type': 'text/javascript', 'Service-Worker-Allowed': value },
        body: 'self.onfetch = () => {};',
      });
      assert.match(
        await refused(r, 502, 'invalid_response'),
        /header "Service-Worker-Allowed" is the gateway's to set/,
      );
      assert.equal(r.headers['service-worker-allowed'], undefined);
    }
  });

  test('cookies: a function may not set one on the host (502), and never receives the browser’s', async () => {
    for (const value of ['session=1; Path=/', ['a=1', 'b=2']]) {
      const message = await refused(
        await answer({ statusCode: 200, headers: { 'Set-Cookie': value } }),
        502,
        'invalid_response',
      );
      assert.match(message, /header "Set-Cookie" is the gateway's to set/);
    }
    // The cookies of every server on 127.0.0.1 (a notebook's login, a dev app's session) stay in the browser.
    const seen = await send(port, '/function/echo', {
      headers: { cookie: 'jupyter-login=secret; session=other-app' },
    });
    assert.equal(seen.status, 200);
    assert.equal(JSON.parse(seen.body).event.headers.cookie, undefined);
    const viaHono = await h.request('/function/echo', { headers: { cookie: 'a=b' } });
    assert.equal(
      ((await viaHono.json()) as { event: { headers: Record<string, string> } }).event.headers
        .cookie,
      undefined,
    );
  });

  test('a header flood is 502: more than 100 headers, or more than 16 KiB of them', async () => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`x-h${i}`, 'v']));
    assert.match(
      await refused(await answer({ statusCode: 200, headers: many }), 502, 'invalid_response'),
      /101 headers; at most 100/,
    );
    const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x-h${i}`, 'v']));
    const fine = await answer({ statusCode: 200, headers: hundred });
    assert.equal(fine.status, 200);
    assert.equal(fine.headers['x-h99'], 'v');
    assert.match(
      await refused(
        await answer({ statusCode: 200, headers: { 'x-big': 'x'.repeat(16 * 1024) } }),
        502,
        'invalid_response',
      ),
      /headers take more than 16384 bytes/,
    );
    assert.match(
      await refused(
        await answer({
          statusCode: 200,
          headers: { 'x-list': Array.from({ length: 3000 }, () => 'abcdef') },
        }),
        502,
        'invalid_response',
      ),
      /headers take more than 16384 bytes/,
    );
  });

  test('response splitting: CR/LF in a value or a name never reaches the wire', async () => {
    const attempts = [
      { 'x-a': 'ok\r\nSet-Cookie: stolen=1' },
      { 'x-a': 'ok\r\n\r\n<script>stolen</script>' },
      { 'x-a\r\nset-cookie: stolen': '1' },
      { location: '/x\r\nset-cookie: stolen=1' },
    ];
    for (const headers of attempts) {
      const body = JSON.stringify({ statusCode: 200, headers, body: 'x' });
      // Read the raw bytes: a split would show as a line the client's parser took for a header.
      const wire = await onTheWire(port, '/function/answer', body);
      assert.match(wire, /^HTTP\/1\.1 502 Bad Gateway\r\n/, JSON.stringify(headers));
      const head = wire.slice(0, wire.indexOf('\r\n\r\n'));
      assert.doesNotMatch(head, /stolen|set-cookie|x-a:/i, JSON.stringify(headers));
      assert.match(wire.slice(head.length), /"code":"invalid_response"/);
    }
  });

  test('a hostile container: malformed JSON is 502; an escaped "statusCode" key is still read as an answer and checked; other bytes are a JSON body as on the JSON route', async () => {
    const raw = (text: string) => send(port, '/function/raw', { method: 'POST', body: text });
    assert.match(
      await refused(await raw('{"statusCode":200,"headers":{"x":"1"},'), 502, 'invalid_response'),
      /its JSON does not parse/,
    );
    const escaped = await raw('{"status\\u0043ode":200,"headers":{"set-cookie":"a=b"},"body":"x"}');
    assert.match(
      await refused(escaped, 502, 'invalid_response'),
      /header "set-cookie" is the gateway's to set/,
    );
    assert.equal(escaped.headers['set-cookie'], undefined);
    const spaced = await raw('  \n{"statusCode":201,"body":"spaced"}');
    assert.deepEqual([spaced.status, spaced.body], [201, 'spaced']);
    // Not JSON and no statusCode: passed on as the JSON route passes a result, a body and nothing more.
    const junk = await raw('not json at all\r\nx-injected: 1');
    assert.deepEqual(
      [junk.status, junk.headers['content-type'], junk.headers['x-injected'], junk.body],
      [200, 'application/json', undefined, 'not json at all\r\nx-injected: 1'],
    );
    // A header named like an object's internals is an ordinary header (on the wire: Node's client drops __proto__).
    const proto = await onTheWire(
      port,
      '/function/raw',
      '{"statusCode":200,"headers":{"__proto__":"p","constructor":"c"}}',
    );
    assert.match(
      proto,
      /^HTTP\/1\.1 200 OK\r\n__proto__: p\r\nconstructor: c\r\ncontent-length: 0\r\n/,
    );
  });

  test('a foreign Host (DNS rebinding) is 403 forbidden_host on /function, every method, both request paths, and runs nothing', async () => {
    const before = await runs(h, 'echo');
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const r = await send(port, '/function/echo/x', {
        method,
        body: method === 'GET' || method === 'HEAD' ? undefined : '{}',
        headers: { host: 'evil.example:8080', origin: 'http://evil.example:8080' },
      });
      assert.equal(r.status, 403, method);
      if (method !== 'HEAD') await refused(r, 403, 'forbidden_host');
    }
    await refused(
      await send(port, '/function/echo', { headers: { host: 'titan.test.evil.example' } }),
      403,
      'forbidden_host',
    );
    await refused(await h.request('http://evil.example/function/echo'), 403, 'forbidden_host');
    assert.equal(
      (await send(port, '/function/echo', { headers: { host: 'titan.test' } })).status,
      200,
      'an allowed host is served',
    );
    assert.equal(await runs(h, 'echo'), before + 1);
  });

  test('another site’s page is 403 forbidden_origin on /function (a form post, a no-cors fetch, Origin null, a frame); a followed link to a public function is served', async () => {
    const before = await runs(h, 'echo');
    await refused(
      await send(port, '/function/echo', {
        method: 'POST',
        body: 'a=1',
        headers: { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' },
      }),
      403,
      'forbidden_origin',
    );
    await refused(
      await send(port, '/function/echo', {
        method: 'POST',
        body: 'a=1',
        headers: { origin: 'null' },
      }),
      403,
      'forbidden_origin',
    );
    await refused(
      await send(port, '/function/echo', {
        headers: {
          'sec-fetch-site': 'cross-site',
          'sec-fetch-mode': 'no-cors',
          'sec-fetch-dest': 'image',
        },
      }),
      403,
      'forbidden_origin',
    );
    await refused(
      await send(port, '/function/echo', {
        headers: {
          'sec-fetch-site': 'cross-site',
          'sec-fetch-mode': 'navigate',
          'sec-fetch-dest': 'iframe',
        },
      }),
      403,
      'forbidden_origin',
    );
    await refused(
      await h.request('/function/echo', { method: 'DELETE', headers: { origin: EVIL } }),
      403,
      'forbidden_origin',
    );
    assert.equal(await runs(h, 'echo'), before, 'echo did not run');
    const link = await send(port, '/function/echo', {
      headers: {
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'navigate',
        'sec-fetch-dest': 'document',
      },
    });
    assert.equal(
      link.status,
      200,
      'a link the user followed: shown to the user, never to the linking page',
    );
    // Refused on the headers: the declared body is never sent.
    assert.equal(await statusBeforeBody(port, '/function/echo', 'PUT', { origin: EVIL }), 403);
  });

  test('CORS on /function: preflights are the gateway’s (403 for other origins, 204 for listed ones); an OPTIONS that is not one reaches the function', async () => {
    const before = await runs(h, 'echo');
    const preflight = (origin: string) =>
      send(port, '/function/echo/x', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'content-type',
        },
      });
    await refused(await preflight(EVIL), 403, 'forbidden_origin');
    const ok = await preflight(TRUSTED);
    assert.deepEqual(
      [
        ok.status,
        ok.body,
        ok.headers['access-control-allow-origin'],
        ok.headers['access-control-allow-methods'],
      ],
      [204, '', TRUSTED, 'GET,HEAD,POST,PUT,PATCH,DELETE'],
    );
    assert.equal(await runs(h, 'echo'), before, 'no preflight ran the function');
    const plain = await send(port, '/function/echo/x', { method: 'OPTIONS' });
    assert.equal(plain.status, 200);
    assert.equal(JSON.parse(plain.body).event.method, 'OPTIONS');
    // From a listed origin, an OPTIONS that asks for no method is no preflight: the function answers it, readably.
    const listedPlain = await send(port, '/function/echo/x', {
      method: 'OPTIONS',
      headers: { origin: TRUSTED },
    });
    assert.deepEqual(
      [listedPlain.status, listedPlain.headers['access-control-allow-origin']],
      [200, TRUSTED],
    );
    assert.equal(JSON.parse(listedPlain.body).event.method, 'OPTIONS');
    // A listed origin's calls are readable by it, exposing the invocation id.
    const call = await send(port, '/function/echo', {
      method: 'PUT',
      body: 'x',
      headers: { origin: TRUSTED },
    });
    assert.deepEqual([call.status, call.headers['access-control-allow-origin']], [200, TRUSTED]);
    assert.match(String(call.headers['access-control-expose-headers']), /x-invocation-id/);
  });

  test('a page of the gateway’s own origin (a function’s page) reaches public functions, but no protected function or management route: 403 forbidden_origin', async () => {
    const before = await runs(h, 'reader');
    const own = { origin: gwOrigin };
    const ok = await send(port, '/function/echo', {
      method: 'POST',
      body: 'name=Ada',
      headers: { ...own, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(ok.status, 200, 'a form posting back to a public function');
    const protectedCalls: Array<[string, Parameters<typeof send>[2]]> = [
      ['/function/reader', { method: 'POST', body: '{}', headers: own }],
      [
        '/function/reader',
        {
          headers: {
            'sec-fetch-site': 'same-origin',
            'sec-fetch-mode': 'cors',
            'sec-fetch-dest': 'empty',
          },
        },
      ],
      [
        '/function/reader',
        {
          headers: {
            'sec-fetch-site': 'cross-site',
            'sec-fetch-mode': 'navigate',
            'sec-fetch-dest': 'document',
          },
        },
      ],
      ['/functions/reader/invoke', { method: 'POST', body: '{}', headers: own }],
      ['/functions/reader/invoke?async=true', { method: 'POST', body: '{}', headers: own }],
    ];
    for (const [path, opts] of protectedCalls) {
      assert.match(
        await refused(await send(port, path, opts), 403, 'forbidden_origin'),
        /function 'reader' mounts host paths, so it answers no request a web page started/,
        path,
      );
    }
    assert.equal(await runs(h, 'reader'), before, 'reader did not run');
    for (const [path, opts] of [
      ['/reload', { method: 'POST', body: '', headers: own }],
      ['/functions/reader/logs', { headers: { 'sec-fetch-site': 'same-origin' } }],
      ['/events/orders', { method: 'POST', body: '{"type":"x"}', headers: own }],
      ['/functions/echo/pool', { method: 'DELETE', headers: own }],
    ] as Array<[string, Parameters<typeof send>[2]]>) {
      assert.match(
        await refused(await send(port, path, opts), 403, 'forbidden_origin'),
        /management routes answer no request a web page started/,
        path,
      );
    }
    // The open routes stay open to it; and curl (no browser marks) still reaches everything here.
    assert.equal(
      (await send(port, '/functions', { headers: { 'sec-fetch-site': 'same-origin' } })).status,
      200,
    );
    assert.equal((await send(port, '/function/reader')).status, 200);
    assert.equal((await send(port, '/functions/reader/logs')).status, 200);
  });

  test('Chromium: a function’s page calls a public function, and every reach for the admin’s routes or a host-reading function is refused', async () => {
    const before = await runs(h, 'reader');
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    });
    try {
      const page = await browser.newPage();
      const res = await page.goto(`${gwOrigin}/function/page`);
      assert.equal(res?.status(), 200);
      const results = await page.evaluate(
        () => (window as unknown as { results: Promise<Record<string, unknown>> }).results,
      );
      assert.deepEqual(results, {
        reload: 403,
        readerInvoke: 403,
        readerFunction: 403,
        readerLogs: 403,
        echo: 200,
        list: 200,
      });
      assert.equal(await runs(h, 'reader'), before, 'reader did not run');
    } finally {
      await browser.close();
    }
  });
});

describe('/function on a gateway with a token', () => {
  let h: Harness;
  let port: number;
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  before(async () => {
    ({ h, port } = await start(
      {
        guarded: fn(
          'export default async (event) => ({ headers: event.headers });',
          'auth: token\n',
        ),
        echo: fn('export default async (event) => ({ headers: event.headers });'),
      },
      { gateway: { host: '0.0.0.0', allowed_hosts: ['titan.example.test'] } },
      TOKEN,
    ));
  });
  after(() => h?.close());

  test('auth: token and host-mounting functions: 401 without the token or with a wrong one, on every method and both paths; 200 with it', async () => {
    for (const name of ['guarded', 'reader']) {
      const before = await runs(h, name);
      for (const method of ['GET', 'POST', 'DELETE', 'OPTIONS']) {
        const r = await send(port, `/function/${name}/x`, { method });
        await refused(r, 401, 'unauthorized');
        assert.match(String(r.headers['www-authenticate']), /^Bearer/);
        await refused(
          await send(port, `/function/${name}/x`, { method, headers: bearer(`${TOKEN}x`) }),
          401,
          'unauthorized',
        );
      }
      await refused(
        await h.request(`/function/${name}`, { method: 'PUT', body: 'x' }),
        401,
        'unauthorized',
      );
      assert.equal(await runs(h, name), before, `${name} did not run`);
      assert.equal(
        await statusBeforeBody(port, `/function/${name}`),
        401,
        'refused before the body',
      );
      const ok = await send(port, `/function/${name}`, { headers: bearer(TOKEN) });
      assert.equal(ok.status, 200, name);
    }
    const secret = await send(port, '/function/reader', { headers: bearer(TOKEN) });
    assert.deepEqual(JSON.parse(secret.body), { text: SECRET });
  });

  test('a function never receives the admin token; any other Authorization reaches it', async () => {
    for (const name of ['guarded', 'echo']) {
      const r = await send(port, `/function/${name}`, {
        headers: { ...bearer(TOKEN), 'x-other': 'kept' },
      });
      assert.equal(r.status, 200);
      assert.deepEqual(
        [JSON.parse(r.body).headers.authorization, JSON.parse(r.body).headers['x-other']],
        [undefined, 'kept'],
        name,
      );
    }
    // Spelt differently, still the token: still withheld (the same reading as the token check's).
    const spaced = await send(port, '/function/echo', {
      headers: { authorization: `bearer   ${TOKEN}  ` },
    });
    assert.equal(JSON.parse(spaced.body).headers.authorization, undefined);
    for (const authorization of ['Bearer the-function-own-token', 'Basic dXNlcjpwYXNz']) {
      const r = await send(port, '/function/echo', { headers: { authorization } });
      assert.equal(JSON.parse(r.body).headers.authorization, authorization);
    }
  });

  test('beyond loopback: a foreign Host is still 403 forbidden_host, a cross-site Origin 403 forbidden_origin before the token is read', async () => {
    await refused(
      await send(port, '/function/echo', { headers: { host: 'evil.example' } }),
      403,
      'forbidden_host',
    );
    await refused(
      await send(port, '/function/guarded', {
        method: 'POST',
        body: '{}',
        headers: { ...bearer(TOKEN), origin: EVIL },
      }),
      403,
      'forbidden_origin',
    );
    assert.equal(
      (await send(port, '/function/echo', { headers: { host: `titan.example.test:${port}` } }))
        .status,
      200,
    );
  });
});
