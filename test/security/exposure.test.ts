// Anonymous clients against a gateway (issue #10, items 4 and 7). Functions that mount host paths
// (permissions.fs: shell_runner, file_watcher) need the admin token as soon as one is configured,
// whatever their manifest's `auth:` says, on every route that invokes (sync, ?async=true, the fast
// path, which checks before reading the body); without a token the gateway stays on loopback and
// such a function is open to local clients (the README's `npm start` walk-through) but not to web
// pages. Slow clients are cut by the header and request timeouts, idle ones by the keep-alive
// timeout, and connections past gateway.max_connections are closed as they arrive.
import assert from 'node:assert/strict';
import { request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sendRaw, type RawRequest, type Reply } from '../helpers/raw-http.ts';
import {
  errorOf,
  eventually,
  fn,
  newHarnessDir,
  startHarness,
  type FunctionFiles,
  type Harness,
} from '../helpers/harness.ts';

const TOKEN = 'exposure test token';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const SECRET = 'a host file only the admin may have read\n';

/** A gateway listening on a port, with a count of the requests that reached Hono (the rest took the fast path). */
interface Listening {
  h: Harness;
  port: number;
  honoCalls: () => number;
}

/** A harness whose inbox holds `secret.txt`, with `reader` (mounts the inbox) and `open` (mounts nothing). */
async function start(
  readerManifest: (inbox: string) => string,
  overrides: Parameters<typeof startHarness>[1],
  adminToken?: string,
): Promise<Listening> {
  const dir = await newHarnessDir();
  const inbox = join(dir, 'inbox');
  await mkdir(inbox);
  await writeFile(join(inbox, 'secret.txt'), SECRET);
  const reader: FunctionFiles = fn(
    `import { readFile } from 'node:fs/promises';\nexport default async () => ({ text: await readFile(${JSON.stringify(join(inbox, 'secret.txt'))}, 'utf8') });`,
    readerManifest(inbox),
  );
  const open = fn('export default async (event) => ({ open: event })');
  const h = await startHarness(
    { reader, open },
    { ...overrides, sandbox: { fs_roots: [inbox] } },
    { dir, adminToken },
  );
  let calls = 0;
  const honoFetch = h.gw.app.fetch;
  h.gw.app.fetch = (req, ...rest) => {
    calls++;
    return honoFetch(req, ...rest);
  };
  return { h, port: await h.gw.listen(), honoCalls: () => calls };
}

/** One request over the port with exactly these headers; POST unless said otherwise. */
const send = (port: number, path: string, opts: RawRequest = {}): Promise<Reply> =>
  sendRaw(port, path, { method: 'POST', ...opts });

/** Asserts the exact refusal: status and the documented error code. */
async function refused(r: Reply | Response, status: number, code: string): Promise<void> {
  const res =
    r instanceof Response
      ? r
      : new Response(r.body, { status: r.status, headers: r.headers as Record<string, string> });
  assert.equal(res.status, status);
  assert.equal((await errorOf(res)).code, code);
}

/** A function's invocations so far, every outcome, from the gateway's /metrics. */
async function runs(h: Harness, name: string): Promise<number> {
  const text = await (await h.request('/metrics')).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('titan_invocations_total{') && l.includes(`function="${name}"`))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** Sends only the headers of a request that declares a 4096-byte body; resolves with the status of whatever answers. */
function statusBeforeBody(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
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

describe('a gateway with a token, listening beyond loopback', () => {
  let gw: Listening;
  before(async () => {
    // `auth: none` said outright: a manifest cannot lift the protection of host files.
    gw = await start(
      (inbox) => `auth: none\npermissions:\n  fs:\n    allow: [${JSON.stringify(inbox)}]\n`,
      { gateway: { host: '0.0.0.0', allowed_hosts: ['titan.example.test'] } },
      TOKEN,
    );
  });
  after(() => gw?.h.close());

  test('a function that mounts host paths: 401 without the token or with a wrong one, 200 with it (sync, in-process)', async () => {
    const { h } = gw;
    await refused(await h.invoke('reader', {}), 401, 'unauthorized');
    await refused(
      await h.request('/functions/reader/invoke', {
        method: 'POST',
        body: '{}',
        headers: bearer(`${TOKEN}x`),
      }),
      401,
      'unauthorized',
    );
    const ok = await h.request('/functions/reader/invoke', {
      method: 'POST',
      body: '{}',
      headers: bearer(TOKEN),
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { text: SECRET });
  });

  test('the same on ?async=true: 401 without the token, 202 and the result with it', async () => {
    const { h } = gw;
    await refused(
      await h.request('/functions/reader/invoke?async=true', { method: 'POST', body: '{}' }),
      401,
      'unauthorized',
    );
    const accepted = await h.request('/functions/reader/invoke?async=true', {
      method: 'POST',
      body: '{}',
      headers: bearer(TOKEN),
    });
    assert.equal(accepted.status, 202);
    const { invocationId } = (await accepted.json()) as { invocationId: string };
    const done = await eventually(async () => {
      const r = (await (await h.request(`/invocations/${invocationId}`)).json()) as {
        status: string;
        result?: unknown;
      };
      return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
    }, 20_000);
    assert.deepEqual(done && [done.status, done.result], ['succeeded', { text: SECRET }]);
  });

  test('the same on the fast path, and it refuses before reading the body', async () => {
    const { port, honoCalls } = gw;
    const before = honoCalls();
    await refused(
      await send(port, '/functions/reader/invoke', { body: '{}' }),
      401,
      'unauthorized',
    );
    await refused(
      await send(port, '/functions/reader/invoke', { body: '{}', headers: bearer('nope') }),
      401,
      'unauthorized',
    );
    const ok = await send(port, '/functions/reader/invoke', { body: '{}', headers: bearer(TOKEN) });
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { text: SECRET });
    assert.equal(honoCalls(), before, 'all three were the fast path’s');
    // The 4096 declared bytes are never sent: a 401 that arrives anyway was decided on the headers.
    assert.equal(await statusBeforeBody(port, '/functions/reader/invoke'), 401);
    assert.equal(await statusBeforeBody(port, '/functions/reader/invoke?async=true'), 401);
  });

  test('a function with auth: none that mounts nothing stays open: sync, async and fast path', async () => {
    const { h, port } = gw;
    const sync = await h.invoke('open', { a: 1 });
    assert.equal(sync.status, 200);
    assert.deepEqual(await sync.json(), { open: { a: 1 } });
    assert.equal(
      (await h.request('/functions/open/invoke?async=true', { method: 'POST', body: '{}' })).status,
      202,
    );
    const fast = await send(port, '/functions/open/invoke', { body: '{"b":2}' });
    assert.equal(fast.status, 200);
    assert.deepEqual(JSON.parse(fast.body), { open: { b: 2 } });
  });

  test('beyond loopback, IP-address Hosts and allowed_hosts are served; other names are 403 forbidden_host', async () => {
    const { port } = gw;
    for (const host of [
      `192.0.2.7:${port}`,
      '[fd00::7]',
      `titan.example.test:${port}`,
      'localhost',
    ]) {
      assert.equal(
        (await send(port, '/functions/open/invoke', { body: '{}', headers: { host } })).status,
        200,
        host,
      );
    }
    for (const host of ['evil.example', `sub.titan.example.test:${port}`]) {
      await refused(
        await send(port, '/functions/open/invoke', { body: '{}', headers: { host } }),
        403,
        'forbidden_host',
      );
      await refused(
        await send(port, '/functions', { method: 'GET', headers: { host } }),
        403,
        'forbidden_host',
      );
    }
    // The token does not make a cross-site page welcome: the Origin is refused before the token is read.
    await refused(
      await send(port, '/functions/reader/invoke', {
        body: '{}',
        headers: { ...bearer(TOKEN), origin: 'http://evil.example' },
      }),
      403,
      'forbidden_origin',
    );
  });
});

describe('a loopback gateway without a token (npm start), with tight limits for slow clients', () => {
  let gw: Listening;
  let drops = 0;
  const limits = {
    headers_timeout_sec: 1,
    request_timeout_sec: 2,
    keep_alive_timeout_sec: 1,
    max_connections: 3,
  };
  before(async () => {
    gw = await start((inbox) => `permissions:\n  fs:\n    allow: [${JSON.stringify(inbox)}]\n`, {
      gateway: limits,
    });
    // biome-ignore lint/complexity/useLiteralKeys: reaching the gateway's private server on purpose
    (gw.h.gw['server'] as Server).on('drop', () => drops++);
  });
  after(() => gw?.h.close());

  /** A raw connection: what the server wrote, and when it closed (ms after `t0`). */
  const raw = () => {
    const t0 = Date.now();
    const s = connect(gw.port, '127.0.0.1');
    const out = { text: '', closedAfter: -1, s };
    s.on('data', (d) => (out.text += d));
    s.on('error', () => {});
    const closed = new Promise<typeof out>((r) =>
      s.on('close', () => r(Object.assign(out, { closedAfter: Date.now() - t0 }))),
    );
    const connected = new Promise<Socket>((r) => s.on('connect', () => r(s)));
    return { out, closed, connected };
  };

  test('a local client (curl) may call a function that mounts host paths; a web page may not', async () => {
    const { h, port } = gw;
    const fast = await send(port, '/functions/reader/invoke', { body: '{}' });
    assert.equal(fast.status, 200);
    assert.deepEqual(JSON.parse(fast.body), { text: SECRET });
    assert.equal((await h.invoke('reader', {})).status, 200);
    assert.equal(
      (await h.request('/functions/reader/invoke?async=true', { method: 'POST', body: '{}' }))
        .status,
      202,
    );
    await refused(
      await send(port, '/functions/reader/invoke', {
        body: '{}',
        headers: { origin: 'http://evil.example', 'content-type': 'text/plain' },
      }),
      403,
      'forbidden_origin',
    );
    await refused(
      await send(port, '/functions/reader/invoke', {
        body: '{}',
        headers: { host: 'evil.example' },
      }),
      403,
      'forbidden_host',
    );
  });

  test('slow-loris: headers sent a byte at a time are cut with 408 after headers_timeout_sec', async () => {
    const { connected, closed } = raw();
    const s = await connected;
    const head = `GET /functions HTTP/1.1\r\nHost: localhost\r\nX-Pad: ${'x'.repeat(100)}`;
    let i = 0;
    const drip = setInterval(
      () => (i < head.length && !s.destroyed ? s.write(head[i++]!) : clearInterval(drip)),
      50,
    );
    try {
      const out = await closed;
      assert.match(out.text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.ok(
        out.closedAfter >= 900 && out.closedAfter < 3000,
        `cut after ${out.closedAfter} ms (headers_timeout_sec 1)`,
      );
      assert.ok(i < head.length, 'cut before the headers were complete');
    } finally {
      clearInterval(drip);
    }
  });

  test('a body sent a byte at a time is cut with 408 after request_timeout_sec; the function is never called', async () => {
    const before = await runs(gw.h, 'reader');
    const { connected, closed } = raw();
    const s = await connected;
    s.write(
      'POST /functions/reader/invoke HTTP/1.1\r\nHost: localhost\r\ncontent-length: 1000\r\n\r\n{',
    );
    const drip = setInterval(() => (!s.destroyed ? s.write(' ') : clearInterval(drip)), 100);
    try {
      const out = await closed;
      assert.match(out.text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.ok(
        out.closedAfter >= 1900 && out.closedAfter < 4000,
        `cut after ${out.closedAfter} ms (request_timeout_sec 2)`,
      );
      assert.equal(await runs(gw.h, 'reader'), before, 'reader was not invoked');
    } finally {
      clearInterval(drip);
    }
  });

  test('an idle keep-alive connection is closed after keep_alive_timeout_sec', async () => {
    const { connected, closed, out } = raw();
    (await connected).write('GET /functions HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await eventually(() => out.text.includes('\r\n\r\n'), 5000, 10);
    assert.match(out.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(out.text, /\r\nKeep-Alive: timeout=1\r\n/i);
    const { closedAfter } = await closed;
    assert.ok(closedAfter >= 900 && closedAfter < 3000, `closed after ${closedAfter} ms`);
  });

  test('past max_connections a new connection is closed unanswered; once one ends, the next is served', async () => {
    const held = [raw(), raw(), raw()];
    await Promise.all(held.map((c) => c.connected));
    const dropsBefore = drops;
    const extra = raw();
    (await extra.connected).write('GET /functions HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const refusedConn = await extra.closed;
    assert.equal(refusedConn.text, '', 'no answer at all: the connection was closed on arrival');
    assert.equal(drops, dropsBefore + 1, "the server's drop event fired once");

    held[0]!.out.s.destroy();
    await held[0]!.closed;
    // The server sees the close a moment later; until then a new connection may still be dropped.
    const served = await eventually(
      async () => {
        const r = await send(gw.port, '/functions', { method: 'GET' }).catch(() => undefined);
        return r?.status === 200 ? r : undefined;
      },
      3000,
      20,
    );
    assert.equal(served?.status, 200);
    for (const c of held) c.out.s.destroy();
  });
});
