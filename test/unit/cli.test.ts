// Unit tests for the `titan` CLI (bin/titan.js, gateway/cli.ts, gateway/client.ts): the real binary as a
// child process against a small node:http imitation of the gateway's routes on loopback.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const TITAN = fileURLToPath(new URL('../../bin/titan.js', import.meta.url));

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const FUNCTIONS = [
  {
    name: 'echo',
    version: '1.0.0',
    runtime: 'node',
    isolation: 'container',
    status: 'ready',
    triggers: [],
    pool: {
      min: 1,
      max: 4,
      concurrency: 2,
      idle_sec: 300,
      warm: 1,
      busy: 0,
      starting: 0,
      queued: 0,
    },
  },
  {
    name: 'broken',
    version: '',
    runtime: 'node',
    status: 'invalid',
    error: 'function.yaml: memory: must be at least 16Mi',
    triggers: [],
    pool: { min: 0, max: 0, concurrency: 0, idle_sec: 0, warm: 0, busy: 0, starting: 0, queued: 0 },
  },
];

const LOG_LINES = [
  {
    time: Date.UTC(2024, 0, 2, 3, 4, 5, 6),
    stream: 'stdout',
    invocationId: 'inv-1-abcdef',
    container: 'abcdef012345',
    text: 'hello from inv-1',
  },
  {
    time: Date.UTC(2024, 0, 2, 3, 4, 6),
    stream: 'stderr',
    container: 'abcdef012345',
    text: 'outside any invocation',
  },
];

function fakeGateway(seen: Seen[]): Server {
  return createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };
    if (req.method === 'GET' && req.url === '/functions')
      return json(200, { functions: FUNCTIONS });
    if (req.method === 'POST' && req.url === '/functions/echo/invoke') {
      return json(
        200,
        { echoed: body === '' ? null : JSON.parse(body) },
        { 'x-invocation-id': 'inv-1', 'x-cold-start': 'true' },
      );
    }
    if (req.method === 'POST' && req.url === '/events/chat.room1')
      return json(201, { id: '1-0', topic: 'chat.room1' });
    if (req.method === 'GET' && req.url === '/dlq?count=5')
      return json(200, { entries: [{ id: '9-0', function: 'echo', error: '{}' }] });
    if (req.method === 'POST' && req.url === '/dlq/9-0/replay')
      return json(200, { id: '9-0', function: 'echo', queued: '10-0' });
    if (req.method === 'GET' && req.url === '/functions/echo/logs?tail=2')
      return json(200, { function: 'echo', lines: LOG_LINES });
    if (req.method === 'GET' && req.url === '/invocations/inv-1-abcdef/logs')
      return json(200, {
        invocationId: 'inv-1-abcdef',
        function: 'echo',
        lines: LOG_LINES.slice(0, 1),
      });
    if (req.method === 'GET' && req.url === '/functions/echo/logs?follow=true&tail=1') {
      // The tail line, a keep-alive comment, a new line, then the gateway ends the stream.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify(LOG_LINES[0])}\n\n: keep-alive\n\n`);
      setTimeout(() => res.end(`data: ${JSON.stringify(LOG_LINES[1])}\n\n`), 20);
      return;
    }
    const name = /^\/functions\/([^/]+)\/invoke$/.exec(req.url ?? '')?.[1];
    json(404, {
      error: {
        code: 'not_found',
        message: name ? `no function named '${name}'` : `no route ${req.method} ${req.url}`,
      },
    });
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function titan(args: string[], env: Record<string, string>, stdin = ''): Promise<Run> {
  const child = spawn(process.execPath, [TITAN, ...args], {
    env: { ...process.env, TITAN_ADMIN_TOKEN: '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(stdin);
  return once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }));
}

describe('titan CLI', () => {
  const seen: Seen[] = [];
  const server = fakeGateway(seen);
  let url = '';

  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => void seen.splice(0));

  test('list prints one row per function, with the error of an invalid one', async () => {
    const r = await titan(['list'], { TITAN_URL: url });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(
      lines[0],
      /^NAME\s+VERSION\s+STATUS\s+WARM\/BUSY\/STARTING\s+MIN\/MAX\s+CONC\s+ISOLATION\s+ERROR$/,
    );
    assert.match(lines[1], /^echo\s+1\.0\.0\s+ready\s+1\/0\/0\s+1\/4\s+2\s+container\s*$/);
    assert.match(
      lines[2],
      /^broken\s+-\s+invalid\s+0\/0\/0\s+0\/0\s+0\s+-\s+function\.yaml: memory: must be at least 16Mi$/,
    );
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.url}`),
      ['GET /functions'],
    );
  });

  test('invoke sends the JSON body unchanged and pretty-prints the result; -v reports id and cold start', async () => {
    const r = await titan(['invoke', 'echo', '-d', '{"a":1,"b":[true]}', '-v'], {
      TITAN_URL: url,
      TITAN_ADMIN_TOKEN: 's3cret',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${JSON.stringify({ echoed: { a: 1, b: [true] } }, null, 2)}\n`);
    assert.match(r.stderr, /x-invocation-id: inv-1/);
    assert.match(r.stderr, /x-cold-start: true/);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].body, '{"a":1,"b":[true]}');
    assert.equal(seen[0].headers['content-type'], 'application/json');
    assert.equal(seen[0].headers.authorization, 'Bearer s3cret');
  });

  test('invoke -f - reads the event from stdin; no token means no Authorization header', async () => {
    const r = await titan(['invoke', 'echo', '-f', '-'], { TITAN_URL: url }, '{"from":"stdin"}\n');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { echoed: { from: 'stdin' } });
    assert.equal(r.stderr, '');
    assert.equal(seen[0].headers.authorization, undefined);
  });

  test('trigger -e is the same as invoke', async () => {
    const r = await titan(['trigger', 'echo', '-e', '[1,2]'], { TITAN_URL: url });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { echoed: [1, 2] });
    assert.equal(seen[0].url, '/functions/echo/invoke');
  });

  test('an API error prints code and message and exits 1', async () => {
    const r = await titan(['invoke', 'missing', '-d', '{}'], { TITAN_URL: url });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "error: not_found: no function named 'missing'\n");
  });

  test('invalid JSON given to -d is refused before any request', async () => {
    const r = await titan(['invoke', 'echo', '-d', '{a:1}'], { TITAN_URL: url });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: the event from --data is not valid JSON: /);
    assert.equal(seen.length, 0);
  });

  test('no gateway at TITAN_URL says how to start one and exits 1', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const r = await titan(['list'], { TITAN_URL: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `error: no gateway at http://127.0.0.1:${port} (start one with \`titan serve\` or \`npm start\`)\n`,
    );
  });

  test('publish sends { type, data } to /events/:topic and prints the entry id', async () => {
    const r = await titan(['publish', 'chat.room1', 'message', '-d', '{"text":"hi"}'], {
      TITAN_URL: url,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '1-0\n');
    assert.deepEqual(JSON.parse(seen[0].body), { type: 'message', data: { text: 'hi' } });
  });

  test('dlq list and dlq replay', async () => {
    const list = await titan(['dlq', 'list', '--count', '5'], { TITAN_URL: url });
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), [{ id: '9-0', function: 'echo', error: '{}' }]);
    const replay = await titan(['dlq', 'replay', '9-0'], { TITAN_URL: url });
    assert.equal(replay.code, 0, replay.stderr);
    assert.equal(JSON.parse(replay.stdout).queued, '10-0');
    const bad = await titan(['dlq', 'purge'], { TITAN_URL: url });
    assert.equal(bad.code, 2);
  });

  test('logs prints time, stream, invocation id prefix and text; --invocation and -f too', async () => {
    const expected = [
      '2024-01-02T03:04:05.006Z stdout inv-1-ab hello from inv-1',
      '2024-01-02T03:04:06.000Z stderr -        outside any invocation',
    ];
    const r = await titan(['logs', 'echo', '--tail', '2'], { TITAN_URL: url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${expected.join('\n')}\n`);
    const one = await titan(['logs', '--invocation', 'inv-1-abcdef'], { TITAN_URL: url });
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, `${expected[0]}\n`);
    const follow = await titan(['logs', 'echo', '-f', '--tail', '1'], { TITAN_URL: url });
    assert.equal(follow.code, 0, follow.stderr);
    assert.equal(
      follow.stdout,
      `${expected.join('\n')}\n`,
      'the tail, then the new line; the comment is skipped',
    );
    assert.deepEqual(
      seen.map((s) => s.url),
      [
        '/functions/echo/logs?tail=2',
        '/invocations/inv-1-abcdef/logs',
        '/functions/echo/logs?follow=true&tail=1',
      ],
    );
    assert.equal(seen[2].headers.accept, 'text/event-stream');
    const bad = await titan(['logs', 'echo', '--tail', '0'], { TITAN_URL: url });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--tail must be an integer from 1 to 10000/);
    const missing = await titan(['logs', 'nope'], { TITAN_URL: url });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: not_found: /);
  });

  test('an unknown command is a usage error', async () => {
    const r = await titan(['frobnicate'], { TITAN_URL: url });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'.*titan help/);
    assert.equal(seen.length, 0);
  });
});

test('run as the executable it is installed as, titan caps V8 young generation as npm start does', async () => {
  // The shebang passes the flag (`titan serve` runs the gateway in this process); PATH must find node.
  const probe = "console.error('execArgv='+JSON.stringify(process.execArgv))";
  const child = spawn(TITAN, ['help'], {
    env: {
      ...process.env,
      PATH: `${fileURLToPath(new URL('.', `file://${process.execPath}`))}:${process.env.PATH}`,
      NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(probe)}`,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'close');
  assert.equal(code, 0, stderr);
  assert.match(stdout, /Usage: titan <command>/);
  const argv = JSON.parse(/execArgv=(.*)/.exec(stderr)?.[1] ?? 'null') as string[];
  // The same flag as package.json's start script, the one `npm start` runs with.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const flag = /--max-semi-space-size=\d+/.exec(pkg.scripts.start)?.[0];
  assert.ok(flag, 'npm start caps the young generation');
  assert.ok(argv.includes(flag), `execArgv: ${JSON.stringify(argv)}, npm start: ${flag}`);
});
