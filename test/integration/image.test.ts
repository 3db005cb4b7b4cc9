// The production image: built offline from Containerfile against the test engine, it starts as a
// non-root user, answers /healthz and runs a function through the mounted engine socket.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { scopeOf } from '../../gateway/gateway.ts';
import { buildGatewayImage } from '../../runtime/image/gateway-image.ts';
import { LABEL } from '../../runtime/sandbox.ts';
import { eventually, testEngine } from '../helpers/harness.ts';

const run = promisify(execFile);
const TAG = 'titan-functions:test';
const docker = (...args: string[]) => run('docker', args, { env: process.env, maxBuffer: 4 << 20 });

describe('production image', () => {
  const engine = testEngine();
  const name = `titan-image-test-${process.pid}`;
  let dir = '';

  before(async () => {
    await buildGatewayImage(engine, TAG);
    dir = await mkdtemp(join(tmpdir(), 'ti-'));
    await mkdir(join(dir, 'functions', 'hi'), { recursive: true });
    await mkdir(join(dir, 's'));
    await writeFile(join(dir, 'functions', 'hi', 'function.yaml'), 'version: "1"\n');
    await writeFile(
      join(dir, 'functions', 'hi', 'index.js'),
      'export default async (e) => ({ hi: e });\n',
    );
    for (const d of [dir, join(dir, 's')]) await chmod(d, 0o777); // the image's user (uid 1000) writes state here
  });

  after(async () => {
    await docker('stop', '-t', '15', name).catch(() => {}); // SIGTERM: the gateway removes its containers
    await docker('rm', '-f', name).catch(() => {});
    for (const c of await engine.listByLabels({ [LABEL.scope]: scopeOf(join(dir, 's')) }))
      await engine.remove(c.id);
    await rm(dir, { recursive: true, force: true });
  });

  test('starts as non-root, answers /healthz and invokes a function', async () => {
    const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    assert.ok(host.startsWith('unix://'), 'the smoke test mounts a unix engine socket');
    const socket = host.slice('unix://'.length);
    const gid = (await stat(socket)).gid;
    // Same paths inside as outside: the host's engine resolves the function containers' mounts.
    await docker(
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'none',
      '--group-add',
      String(gid),
      '-v',
      `${socket}:/var/run/docker.sock`,
      '-v',
      `${dir}:${dir}`,
      '-e',
      'DOCKER_HOST=unix:///var/run/docker.sock',
      '-e',
      `TITAN_STATE_DIR=${join(dir, 's')}`,
      '-e',
      `TITAN_FUNCTIONS_DIR=${join(dir, 'functions')}`,
      TAG,
    );
    const fetchInside = async (path: string, body?: string) => {
      const script =
        `fetch('http://127.0.0.1:8080${path}', ${body ? `{ method: 'POST', body: ${JSON.stringify(body)} }` : '{}'})` +
        '.then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), () => console.log("{}"))';
      const { stdout } = await docker('exec', name, 'node', '-e', script).catch(() => ({
        stdout: '{}',
      }));
      return JSON.parse(stdout || '{}') as { status?: number; body?: string };
    };
    const health = await eventually(
      async () =>
        (await fetchInside('/healthz')).status === 200 ? fetchInside('/healthz') : undefined,
      30_000,
      250,
    );
    assert.ok(
      health,
      `the gateway in the image answers /healthz (logs: ${(await docker('logs', name).catch(() => ({ stdout: '' }))).stdout.slice(-500)})`,
    );
    assert.equal(
      (JSON.parse(health.body!) as { engine: { reachable: boolean } }).engine.reachable,
      true,
    );
    const { stdout: user } = await docker(
      'exec',
      name,
      'node',
      '-e',
      'console.log(process.getuid())',
    );
    assert.equal(user.trim(), '1000');
    // The gateway runs compiled with npm start's node flags, not under tsx's loader.
    const { stdout: cmdline } = await docker(
      'exec',
      name,
      'node',
      '-e',
      "process.stdout.write(require('fs').readFileSync('/proc/1/cmdline'))",
    );
    const argv = cmdline.split('\0').filter(Boolean);
    const start = (
      JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
        scripts: { start: string };
      }
    ).scripts.start;
    const flags = start.split(' ').filter((a) => a.startsWith('--'));
    assert.deepEqual(argv, ['node', ...flags, 'dist/main.js']);
    const res = await eventually(
      async () => {
        const r = await fetchInside('/functions/hi/invoke', '{"a":1}');
        return r.status === 200 ? r : undefined;
      },
      30_000,
      250,
    );
    assert.ok(res, 'the function answers through the gateway in the image');
    assert.deepEqual(JSON.parse(res.body!), { hi: { a: 1 } });
  });
});
