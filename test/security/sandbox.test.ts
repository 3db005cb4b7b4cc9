// Hostile function authors against the sandbox's edges: the socket directory, the engine's log files,
// the gateway's connection to the container, the answer, and input built to crash a runtime.
// Each probe asserts the exact refusal, and that the gateway (and, where it should, the container) lives on.
import assert from 'node:assert/strict';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import {
  containersOf,
  errorOf,
  eventually,
  fn,
  startHarness,
  testEngine,
  type Harness,
} from '../helpers/harness.ts';

/** Runs `op` (a statement over `fs` and `path`) and answers the error code it met, or 'ok'. */
const TRY = `
const fs = require('node:fs');
const tryIt = (op) => { try { op(); return 'ok'; } catch (e) { return e.code; } };
`;

const DEEP = (n: number) => '['.repeat(n) + ']'.repeat(n);

describe('security: the sandbox against a hostile function', () => {
  let h: Harness;
  const docker = new Docker();
  before(async () => {
    h = await startHarness(
      {
        // Everything a function could try on the one host directory it sees.
        prober: fn(`${TRY}
module.exports = async () => ({
  write: tryIt(() => fs.writeFileSync('/run/titan/junk', 'x'.repeat(1 << 20))),
  mkdir: tryIt(() => fs.mkdirSync('/run/titan/d')),
  symlink: tryIt(() => fs.symlinkSync('/etc/passwd', '/run/titan/link')),
  unlink: tryIt(() => fs.unlinkSync('/run/titan/fn.sock')),
  rename: tryIt(() => fs.renameSync('/run/titan/fn.sock', '/run/titan/other.sock')),
  chmod: tryIt(() => fs.chmodSync('/run/titan/fn.sock', 0o777)),
  fnDir: tryIt(() => fs.writeFileSync('/fn/planted.js', 'x')),
  bootstrap: tryIt(() => fs.writeFileSync('/titan/node.mjs', 'x')),
});`),
        // Opens connections to the gateway's socket in a loop and counts how many the gateway closed.
        dialer: fn(
          `
const net = require('node:net');
module.exports = async ({ n }) => {
  let closedByGateway = 0;
  const socks = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect('/run/titan/fn.sock');
    socks.push(s);
    await new Promise((resolve) => { s.once('connect', resolve); s.once('error', resolve); });
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const s of socks) { if (s.destroyed || s.readableEnded) closedByGateway++; s.destroy(); }
  return { opened: n, closedByGateway };
};`,
          'pool: { min: 1, max: 1 }\n',
        ),
        // Answers more than the gateway passes on, when asked to.
        big: fn(
          `module.exports = async ({ mib }) => 'x'.repeat(mib * 1024 * 1024);`,
          'pool: { min: 1, max: 1 }\n',
        ),
        // Patches the bootstrap's response to claim an envelope whose emits are not a list.
        forger: fn(
          `
const http = require('node:http');
const writeHead = http.ServerResponse.prototype.writeHead;
http.ServerResponse.prototype.writeHead = function (status, headers) {
  return writeHead.call(this, status, { ...headers, 'x-titan-envelope': '1' });
};
module.exports = async () => ({ result: 1, emits: 'not a list' });`,
          'pool: { min: 1, max: 1 }\n',
        ),
        // Prints far more than the engine may keep on disk, then says which invocation it was.
        loud: fn(
          `
module.exports = async ({ mib }, context) => {
  const pad = 'y'.repeat(1000);
  for (let i = 0; i < mib * 1024; i++) process.stdout.write(i + ' ' + pad + '\\n');
  console.log('done ' + context.invocationId);
  return 'printed';
};`,
          'pool: { min: 1, max: 1 }\ntimeout_sec: 60\n',
        ),
        echo: fn(
          'module.exports = async (event) => ({ got: Array.isArray(event) ? "array" : typeof event });',
          'pool: { min: 1, max: 1 }\n',
        ),
        pyecho: {
          'function.yaml': 'runtime: python\npool: { min: 1, max: 1 }\n',
          'main.py': 'def handler(event, context):\n    return {"got": type(event).__name__}\n',
        },
        deepres: fn(
          `module.exports = async ({ n }) => { let v = []; for (let i = 0; i < n; i++) v = [v]; return v; };`,
          'pool: { min: 1, max: 1 }\n',
        ),
        pydeepres: {
          'function.yaml': 'runtime: python\npool: { min: 1, max: 1 }\n',
          'main.py':
            'def handler(event, context):\n    v = []\n    for _ in range(event["n"]):\n        v = [v]\n    return v\n',
        },
      },
      {
        sandbox: { log_max_size: '256Ki', log_max_files: 2, max_response_bytes: 1024 * 1024 },
        logs: { max_lines_per_function: 10_000 },
      },
    );
  });
  after(() => h.close());

  const ids = async (name: string) => (await containersOf(h.config, name)).map((c) => c.id).sort();

  test('the socket directory is read-only to the function: no file, directory, link, unlink, rename or chmod', async () => {
    const res = await h.invoke('prober', {});
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      write: 'EROFS',
      mkdir: 'EROFS',
      symlink: 'EROFS',
      unlink: 'EROFS',
      rename: 'EROFS',
      chmod: 'EROFS',
      fnDir: 'EROFS',
      bootstrap: 'EROFS',
    });
    assert.equal((await h.invoke('prober', {})).status, 200, 'the gateway still reaches it');
  });

  test("on the host, the container's socket directory holds the gateway's own socket and nothing else", async () => {
    const runDir = join(h.config.stateDir, 'run');
    const dirs = await readdir(runDir);
    assert.ok(dirs.length > 0);
    for (const d of dirs) {
      const dir = join(runDir, d);
      assert.deepEqual(await readdir(dir), ['fn.sock'], `${dir} holds only the socket`);
      const sock = await lstat(join(dir, 'fn.sock'));
      assert.ok(sock.isSocket(), 'a socket, not a link or a file');
      assert.equal(sock.uid, process.getuid!(), "owned by the gateway's user");
      assert.equal((await stat(dir)).mode & 0o777, 0o755, 'no one but the gateway writes there');
    }
    assert.equal(
      (await stat(runDir)).mode & 0o777,
      0o700,
      'other host users do not reach the sockets',
    );
  });

  test('a container that dials the gateway in a loop gets its extra connections closed; calls still work', async () => {
    const before = await ids('dialer');
    const res = await h.invoke('dialer', { n: 300 });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { opened: number; closedByGateway: number };
    assert.ok(
      body.closedByGateway >= 280,
      `the gateway closed ${body.closedByGateway} of 300 unasked connections`,
    );
    assert.equal((await h.invoke('dialer', { n: 1 })).status, 200);
    assert.deepEqual(await ids('dialer'), before, 'the same container serves on');
    assert.equal((await h.request('/healthz')).status, 200);
  });

  test('an answer over sandbox.max_response_bytes is 502 invalid_response, and the container serves on', async () => {
    const before = await ids('big');
    const res = await h.invoke('big', { mib: 3 });
    assert.equal(res.status, 502);
    const err = await errorOf(res);
    assert.equal(err.code, 'invalid_response');
    assert.match(err.message, /larger than the 1048576-byte limit/);
    const small = await h.invoke('big', { mib: 0 });
    assert.equal(small.status, 200);
    assert.deepEqual(await ids('big'), before, 'not replaced: only that connection was dropped');
  });

  test('a forged envelope (emits not a list) is 502 invalid_response, not a crash of the gateway', async () => {
    const res = await h.invoke('forger', {});
    assert.equal(res.status, 502);
    const err = await errorOf(res);
    assert.equal(err.code, 'invalid_response');
    assert.match(err.message, /malformed envelope: emits is not an array/);
    assert.equal((await h.request('/healthz')).status, 200);
  });

  test('200,000 nested arrays are 400 invalid_json before any container sees them (node and python)', async () => {
    for (const name of ['echo', 'pyecho']) {
      const before = await ids(name);
      const res = await h.invoke(name, DEEP(200_000));
      assert.equal(res.status, 400, name);
      const err = await errorOf(res);
      assert.equal(err.code, 'invalid_json');
      assert.match(err.message, /more than 512 levels deep/);
      const ok = await h.invoke(name, DEEP(100));
      assert.equal(ok.status, 200, `${name}: nesting within the limit still works`);
      assert.deepEqual(await ok.json(), { got: name === 'echo' ? 'array' : 'list' });
      assert.deepEqual(await ids(name), before, `${name}: no container was started or replaced`);
    }
  });

  test('the async and fast paths refuse deep JSON the same way', async () => {
    const deep = DEEP(1000);
    const viaPort = await h.gw.listen();
    const res = await fetch(`http://127.0.0.1:${viaPort}/functions/echo/invoke`, {
      method: 'POST',
      body: deep,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 400);
    assert.equal((await errorOf(res)).code, 'invalid_json');
    const async = await h.request('/functions/echo/invoke?async=true', {
      method: 'POST',
      body: deep,
    });
    assert.equal(async.status, 400);
    assert.equal((await errorOf(async)).code, 'invalid_json');
  });

  test('a result nested too deep to serialise is a 500 function_error from either runtime; the container lives', async () => {
    for (const name of ['deepres', 'pydeepres']) {
      const before = await ids(name);
      const res = await h.invoke(name, { n: 200_000 });
      assert.equal(res.status, 500, name);
      const err = await errorOf(res);
      assert.equal(err.code, 'function_error');
      assert.match(err.message, /not JSON-serialisable/);
      assert.equal((await h.invoke(name, { n: 3 })).status, 200);
      assert.deepEqual(await ids(name), before, `${name}: the same container serves on`);
    }
  });

  test("a function printing 4 MiB leaves at most log_max_files × log_max_size in the engine's files, and every line of it is captured", async () => {
    const res = await h.invoke('loud', { mib: 4 });
    assert.equal(res.status, 200);
    const invocationId = res.headers.get('x-invocation-id')!;
    const [id] = await ids('loud');
    const info = await docker.getContainer(id!).inspect();
    assert.equal(info.HostConfig.LogConfig?.Type, 'json-file');
    // Podman keeps one file (ctr.log) that it cuts back at max-size (max-file does not apply), and
    // leaves this inspect field's options empty: on Podman the files on disk are the proof.
    const podman = (await testEngine().ping()).kind === 'podman';
    if (!podman)
      assert.deepEqual(info.HostConfig.LogConfig?.Config, {
        'max-size': String(256 * 1024),
        'max-file': '2',
      });
    // The engine may run elsewhere (another host's files): its own limits are what the probe can read there.
    if (info.LogPath && (await stat(info.LogPath).catch(() => undefined))) {
      const files = (await readdir(join(info.LogPath, '..'))).filter((f) =>
        f.startsWith(podman ? 'ctr.log' : `${id}-json.log`),
      );
      let total = 0;
      for (const f of files) total += (await stat(join(info.LogPath, '..', f))).size;
      assert.ok(files.length <= 2, `${files.length} log files`);
      // json-file wraps each line in JSON (about 100 bytes each), and rotates after the write that crossed the size.
      assert.ok(total < 2 * (256 * 1024 + 4096), `${total} bytes on disk for 4 MiB printed`);
    }
    const lines = await eventually(async () => {
      const r = await h.request(`/invocations/${invocationId}/logs`);
      if (r.status !== 200) return undefined;
      const body = (await r.json()) as { lines: Array<{ text: string }> };
      return body.lines.some((l) => l.text === `done ${invocationId}`) ? body.lines : undefined;
    }, 60_000); // 4 MiB through the engine's log stream: seconds on a loaded machine
    assert.ok(lines, "the invocation's own last line is attributed to it");
    // Read from the container's stdio, not the rotating files: not one line lost (a follower of the
    // files lost two thirds of them here).
    const numbers = lines.slice(0, -1).map((l) => Number(l.text.split(' ', 1)[0]));
    assert.equal(numbers.length, 4 * 1024, 'every line printed reached the log store');
    assert.ok(
      numbers.every((n, i) => n === i),
      'in order, none missing',
    );
  });
});
