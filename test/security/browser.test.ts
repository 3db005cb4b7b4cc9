// Web pages against a gateway on the user's machine (issue #10, item 3). A page of any site can make
// the user's browser send requests to 127.0.0.1; the gateway must refuse those of other origins
// (403 forbidden_origin) and those that reach it under a rebound DNS name (403 forbidden_host), on
// the invoke fast path and on Hono's routes alike, before any body is read; origins listed in
// gateway.cors.allow_origins get working CORS. The attacks are sent over a real port with exact
// headers, in-process, and from a real Chromium.
import assert from 'node:assert/strict';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import YAML from 'yaml';
import { defaultConfig } from '../../runtime/config.ts';
import { ensureRuntimeImage } from '../../runtime/image/runtime-image.ts';
import { sendRaw, type RawRequest, type Reply } from '../helpers/raw-http.ts';
import {
  errorOf,
  eventually,
  fn,
  newHarnessDir,
  startHarness,
  testEngine,
  type FunctionFiles,
  type Harness,
} from '../helpers/harness.ts';

const SHELL_RUNNER = fileURLToPath(new URL('../../functions/shell_runner/', import.meta.url));
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const EVIL = 'http://evil.example';
const LS = JSON.stringify({ command: 'ls' });

/** The built-in shell_runner as shipped, its allow path pointed at `inbox`. */
async function shellRunner(inbox: string): Promise<FunctionFiles> {
  const files: FunctionFiles = {};
  for (const name of await readdir(SHELL_RUNNER))
    files[name] = await readFile(join(SHELL_RUNNER, name), 'utf8');
  const manifest = YAML.parse(files['function.yaml']!);
  manifest.permissions.fs.allow = [`${inbox}/**`];
  files['function.yaml'] = YAML.stringify(manifest);
  return files;
}

/** A page server on 127.0.0.1: `html` at `/`. Resolves with its origin. */
function pageServer(html: () => string): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res: ServerResponse) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end(html()),
  );
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

describe('a gateway on loopback, against web pages', () => {
  let h: Harness;
  let port: number;
  let gwUrl: string;
  let hostile: { server: Server; origin: string };
  let trusted: { server: Server; origin: string };
  let browser: Browser;
  /** every request the gateway answered over its port, as the gateway saw it */
  const seen: Array<{ method: string; url: string; origin?: string; status: number }> = [];

  before(async () => {
    await ensureRuntimeImage(testEngine(), defaultConfig().sandbox.image);
    // Page servers first: the trusted one's origin goes into the gateway's config.
    hostile = await pageServer(() => hostilePage(gwUrl));
    trusted = await pageServer(() => '<!doctype html><title>trusted</title>');
    const dir = await newHarnessDir();
    const inbox = join(dir, 'inbox');
    await mkdir(inbox);
    await writeFile(join(inbox, 'secret.txt'), 'the host file a page must not list\n');
    h = await startHarness(
      {
        shell_runner: await shellRunner(inbox),
        echo: fn('export default async (event) => ({ echo: event })'),
      },
      {
        sandbox: { fs_roots: [inbox] },
        gateway: {
          allowed_hosts: ['titan.test', '*.lan.test'],
          cors: {
            allow_origins: [trusted.origin],
            allow_headers: ['X-Request-Id'],
            max_age_sec: 120,
          },
        },
        events: { embedded_redis: false },
      },
      { dir },
    );
    port = await h.gw.listen();
    gwUrl = `http://127.0.0.1:${port}`;
    // A tap on the gateway's own server: what reached it and what it answered, whichever path served it.
    // biome-ignore lint/complexity/useLiteralKeys: reaching the gateway's private server on purpose
    (h.gw['server'] as Server).on('request', (req, res) => {
      res.on('finish', () =>
        seen.push({
          method: req.method!,
          url: req.url!,
          origin: req.headers.origin,
          status: res.statusCode,
        }),
      );
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    hostile?.server.close();
    trusted?.server.close();
    await h?.close();
  });

  /** One request over the port with exactly these headers (`host` among them replaces Node's). */
  const send = (path: string, opts?: RawRequest) => sendRaw(port, path, opts);
  const invokeShell = (headers: Record<string, string>, query = '') =>
    send(`/functions/shell_runner/invoke${query}`, {
      method: 'POST',
      body: LS,
      headers: { 'content-type': 'text/plain', ...headers },
    });

  /** Asserts the exact refusal: status, the documented error shape, its code, and no CORS grant. */
  const refused = async (r: Reply | Response, status: number, code: string) => {
    const res =
      r instanceof Response
        ? r
        : new Response(r.body, { status: r.status, headers: r.headers as Record<string, string> });
    assert.equal(res.status, status);
    assert.equal((await errorOf(res)).code, code);
    assert.equal(
      res.headers.get('access-control-allow-origin'),
      null,
      'a refused origin is granted nothing',
    );
  };

  /** shell_runner's invocations so far, every outcome, from the gateway's /metrics. */
  const shellRuns = async (): Promise<number> => {
    const text = await (await h.request('/metrics')).text();
    return text
      .split('\n')
      .filter(
        (l) => l.startsWith('titan_invocations_total{') && l.includes('function="shell_runner"'),
      )
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };

  test('a foreign Host is 403 forbidden_host on the fast path, GET /functions and POST /reload', async () => {
    for (const host of [
      'evil.example',
      'evil.example:8080',
      `titan.test.evil.example:${port}`,
      `lan.test:${port}`,
      '192.168.1.10',
    ]) {
      await refused(await invokeShell({ host }), 403, 'forbidden_host');
      await refused(await send('/functions', { headers: { host } }), 403, 'forbidden_host');
      await refused(
        await send('/reload', { method: 'POST', body: '', headers: { host } }),
        403,
        'forbidden_host',
      );
    }
    // Hono's invoke route (a query string) and an OPTIONS refuse it the same way.
    await refused(
      await invokeShell({ host: 'evil.example' }, '?async=true'),
      403,
      'forbidden_host',
    );
    await refused(
      await send('/functions/echo/invoke', {
        method: 'OPTIONS',
        headers: { host: 'evil.example', origin: EVIL },
      }),
      403,
      'forbidden_host',
    );
    // `evil@127.0.0.1` is a URL with user info whose host is 127.0.0.1; as a Host header it is refused.
    await refused(await invokeShell({ host: 'evil.example@127.0.0.1' }), 403, 'forbidden_host');
  });

  test('DNS rebinding: a page on evil.example:8080, now resolving to 127.0.0.1, is 403 forbidden_host and runs nothing', async () => {
    const runs = await shellRuns();
    // To the browser this is same-origin (its page is http://evil.example:8080): no Origin check can see it.
    const rebound = { host: 'evil.example:8080', origin: 'http://evil.example:8080' };
    await refused(await invokeShell(rebound), 403, 'forbidden_host');
    await refused(await invokeShell(rebound, '?async=true'), 403, 'forbidden_host');
    await refused(
      await send('/functions', { headers: { host: 'evil.example:8080' } }),
      403,
      'forbidden_host',
    );
    assert.equal(await shellRuns(), runs, 'shell_runner did not run');
  });

  test("loopback names, the gateway's address and allowed_hosts are served; ports in Host are ignored", async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      'LOCALHOST',
      `app.localhost:${port}`,
      '127.0.0.2',
      '127.1',
      `[::1]:${port}`,
      'titan.test:9999',
      'a.lan.test',
      'b.a.lan.test.',
    ]) {
      const r = await send('/functions/echo/invoke', {
        method: 'POST',
        body: '{"n":1}',
        headers: { host },
      });
      assert.equal(r.status, 200, `${host}: ${r.body}`);
      assert.equal((await send('/functions', { headers: { host } })).status, 200, host);
    }
    // HTTP/1.0 without a Host header is no browser's request: served.
    const raw = await new Promise<string>((resolve, reject) => {
      // Not half-closed: an HTTP/1.0 server answers and then closes the connection itself.
      const s = connect(port, '127.0.0.1', () =>
        s.write('POST /functions/echo/invoke HTTP/1.0\r\ncontent-length: 2\r\n\r\n{}'),
      );
      let text = '';
      s.on('data', (d) => (text += d));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(raw, /\r\n\r\n\{"echo":\{\}\}$/);
  });

  test('Origin of another site on a text/plain POST to shell_runner: 403 forbidden_origin, fast path and Hono, and it never runs', async () => {
    const runs = await shellRuns();
    for (const origin of [
      EVIL,
      'https://evil.example',
      `http://127.0.0.1:${port + 1}`,
      `http://localhost:${port}`,
      `${trusted.origin}.evil.example`,
    ]) {
      await refused(await invokeShell({ origin }), 403, 'forbidden_origin');
      await refused(await invokeShell({ origin }, '?async=true'), 403, 'forbidden_origin');
      await refused(await send('/functions', { headers: { origin } }), 403, 'forbidden_origin');
    }
    assert.equal(await shellRuns(), runs, 'shell_runner did not run');
    // The gateway's own origin (a page it served) is not cross-origin.
    assert.equal((await send('/functions', { headers: { origin: gwUrl } })).status, 200);
  });

  test('Origin null (sandboxed frames, file:// pages) and Sec-Fetch-Site cross-site or same-site without Origin (but a followed link): 403 forbidden_origin', async () => {
    const runs = await shellRuns();
    await refused(await invokeShell({ origin: 'null' }), 403, 'forbidden_origin');
    await refused(
      await send('/functions', { headers: { origin: 'null' } }),
      403,
      'forbidden_origin',
    );
    for (const site of ['cross-site', 'same-site']) {
      await refused(
        await send('/functions', { headers: { 'sec-fetch-site': site } }),
        403,
        'forbidden_origin',
      );
      await refused(await invokeShell({ 'sec-fetch-site': site }), 403, 'forbidden_origin');
    }
    assert.equal(await shellRuns(), runs, 'shell_runner did not run');
    // Typed into the address bar (none) or from the gateway's own page (same-origin): served.
    for (const site of ['none', 'same-origin'])
      assert.equal(
        (await send('/functions', { headers: { 'sec-fetch-site': site } })).status,
        200,
        site,
      );
    // A link the user followed from another site is shown to the user, not to that site: served.
    // The same GET loaded into a frame, or as a no-cors fetch, is refused.
    const nav = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' };
    assert.equal(
      (await send('/openapi.json', { headers: { ...nav, 'sec-fetch-dest': 'document' } })).status,
      200,
    );
    await refused(
      await send('/openapi.json', { headers: { ...nav, 'sec-fetch-dest': 'iframe' } }),
      403,
      'forbidden_origin',
    );
    await refused(
      await send('/openapi.json', {
        headers: {
          'sec-fetch-site': 'cross-site',
          'sec-fetch-mode': 'no-cors',
          'sec-fetch-dest': 'script',
        },
      }),
      403,
      'forbidden_origin',
    );
  });

  test('refused before the body is read: a 403 arrives while the declared body is still unsent', async () => {
    for (const path of [
      '/functions/shell_runner/invoke',
      '/functions/shell_runner/invoke?async=true',
    ]) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path,
            agent: false,
            headers: { origin: EVIL, 'content-length': '4096' },
          },
          (res) => {
            resolve(res.statusCode!);
            req.destroy();
          },
        );
        req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
        req.flushHeaders(); // headers only; not a byte of the 4096
      });
      assert.equal(status, 403, path);
    }
  });

  test('a preflight from an unknown origin is 403 forbidden_origin; from an allowed one, 204 with the CORS headers', async () => {
    const preflight = (origin: string) =>
      send('/functions/echo/invoke', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-request-id',
        },
      });
    await refused(await preflight(EVIL), 403, 'forbidden_origin');
    await refused(await preflight('null'), 403, 'forbidden_origin');

    const ok = await preflight(trusted.origin);
    assert.equal(ok.status, 204);
    assert.equal(ok.body, '');
    assert.equal(
      ok.headers['access-control-allow-origin'],
      trusted.origin,
      'the origin echoed, never *',
    );
    assert.match(String(ok.headers.vary), /\bOrigin\b/);
    assert.equal(ok.headers['access-control-allow-methods'], 'GET,HEAD,POST,PUT,PATCH,DELETE');
    assert.equal(
      ok.headers['access-control-allow-headers'],
      'content-type,authorization,x-request-id',
    );
    assert.equal(ok.headers['access-control-max-age'], '120');
    assert.equal(
      ok.headers['access-control-allow-credentials'],
      undefined,
      'no cookies: the token travels in Authorization',
    );
  });

  test("an allowed origin's calls carry Access-Control-Allow-Origin: the same headers on the fast path, through Hono and on errors", async () => {
    const origin = trusted.origin;
    const cors = (r: Reply) => ({
      allow: r.headers['access-control-allow-origin'],
      expose: r.headers['access-control-expose-headers'],
      vary: r.headers.vary,
    });
    const expected = {
      allow: origin,
      expose: 'x-invocation-id,x-cold-start,location,retry-after,www-authenticate',
      vary: 'Origin',
    };
    const fast = await send('/functions/echo/invoke', {
      method: 'POST',
      body: '{"a":1}',
      headers: { origin },
    });
    assert.equal(fast.status, 200);
    assert.deepEqual(JSON.parse(fast.body), { echo: { a: 1 } });
    assert.deepEqual(cors(fast), expected);
    const hono = await send('/functions/echo/invoke?via=hono', {
      method: 'POST',
      body: '{"a":1}',
      headers: { origin },
    });
    assert.equal(hono.status, 200);
    assert.deepEqual(cors(hono), expected);
    const list = await send('/functions', { headers: { origin } });
    assert.equal(list.status, 200);
    assert.deepEqual(cors(list), expected);
    // An error is readable too: the page can tell a 404 or a 400 from a network failure.
    const missing = await send('/functions/nope/invoke', {
      method: 'POST',
      body: '{}',
      headers: { origin },
    });
    assert.equal(missing.status, 404);
    assert.deepEqual(cors(missing), expected);
    const bad = await send('/functions/echo/invoke', {
      method: 'POST',
      body: '{"a":',
      headers: { origin },
    });
    assert.equal(bad.status, 400);
    assert.equal(
      (await errorOf(new Response(bad.body, { headers: { 'content-type': 'application/json' } })))
        .code,
      'invalid_json',
    );
    assert.deepEqual(cors(bad), expected);
    // Without an Origin nothing CORS is added (the CLI and curl see the answers they always saw).
    const plain = await send('/functions/echo/invoke', { method: 'POST', body: '{}' });
    assert.deepEqual(cors(plain), { allow: undefined, expose: undefined, vary: undefined });
  });

  test('in-process (app.request): no Host is localhost and served; a foreign Host or Origin is refused the same way', async () => {
    assert.equal((await h.request('/functions')).status, 200);
    await refused(
      await h.request('/functions', { headers: { host: 'evil.example' } }),
      403,
      'forbidden_host',
    );
    await refused(await h.request('http://evil.example/functions'), 403, 'forbidden_host');
    await refused(
      await h.request('/functions/shell_runner/invoke', {
        method: 'POST',
        body: LS,
        headers: { origin: EVIL },
      }),
      403,
      'forbidden_origin',
    );
    await refused(
      await h.request('/reload', { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } }),
      403,
      'forbidden_origin',
    );
    const pre = await h.request('/functions', {
      method: 'OPTIONS',
      headers: { origin: trusted.origin, 'access-control-request-method': 'GET' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), trusted.origin);
  });

  test('Chromium: a hostile page’s no-cors fetch and form POST to shell_runner are refused (403 forbidden_origin) and never run it; a trusted origin’s page calls and reads', async () => {
    const runs = await shellRuns();
    const from = seen.length;
    const page = await browser.newPage();
    try {
      await page.goto(`${hostile.origin}/`);
      await page.evaluate(() => (window as unknown as { attack: () => Promise<void> }).attack());
      // Both requests reached the gateway and were refused there (the page itself learns nothing).
      const attempts = () =>
        seen.slice(from).filter((s) => s.url === '/functions/shell_runner/invoke');
      await eventually(() => attempts().length >= 2, 10_000);
      assert.deepEqual(
        attempts().map((s) => [s.method, s.origin, s.status]),
        [
          ['POST', hostile.origin, 403],
          ['POST', hostile.origin, 403],
        ],
      );
      const frame = page.frame({ name: 'sink' })!;
      // content() throws while the frame navigates; the form's answer shows once it has loaded.
      const shown = await eventually(
        async () => (await frame.content().catch(() => '')).match(/"code":"forbidden_origin"/),
        10_000,
      );
      assert.ok(shown, 'the form post got the refusal');
      assert.equal(await shellRuns(), runs, 'shell_runner did not run');
      // A link on the same page, followed by the user: a top-level navigation, served to the user.
      const [docs] = await Promise.all([page.waitForNavigation(), page.click('#docs')]);
      assert.equal(docs?.status(), 200);
      assert.equal(docs?.url(), `${gwUrl}/openapi.json`);

      await page.goto(`${trusted.origin}/`);
      const answer = await page.evaluate(async (url) => {
        // application/json makes this a preflighted request: the preflight and the call must both pass.
        const r = await fetch(`${url}/functions/echo/invoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': 'r1' },
          body: '{"from":"page"}',
        });
        return { status: r.status, body: await r.json(), id: r.headers.get('x-invocation-id') };
      }, gwUrl);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, { echo: { from: 'page' } });
      assert.match(String(answer.id), /^[0-9a-f-]{36}$/, 'x-invocation-id is exposed to the page');
      assert.deepEqual(
        seen
          .slice(from)
          .filter((s) => s.url === '/functions/echo/invoke')
          .map((s) => [s.method, s.status]),
        [
          ['OPTIONS', 204],
          ['POST', 200],
        ],
      );
    } finally {
      await page.close();
    }
  });
});

/** The hostile page: a no-cors text/plain fetch (no preflight) and a text/plain form posting JSON. */
function hostilePage(gwUrl: string): string {
  const target = `${gwUrl}/functions/shell_runner/invoke`;
  return `<!doctype html><title>cute cats</title>
<iframe name="sink"></iframe>
<a id="docs" href="${gwUrl}/openapi.json">the API</a>
<form id="f" method="POST" enctype="text/plain" target="sink" action="${target}">
  <input name='{"command":"ls","pad":"' value='"}'>
</form>
<script>
window.attack = async () => {
  await fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(LS)} }).catch(() => {});
  document.getElementById('f').submit();
};
</script>`;
}
