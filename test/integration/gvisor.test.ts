// gVisor per function on the real engine: a function with `isolation: gvisor` runs under runsc (the
// kernel it sees is gVisor's, not the host's one a runc function sees), inside the same sandbox (the
// probe), with the same timeout and out-of-memory handling, and never through a runc stem cell.
// The engine must have runsc registered: `npm run setup` installs it and registers it with the dockerd it
// starts. An engine without it fails here loudly, with what to do (no skipping).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { parseMemory } from '../../runtime/quantity.ts';
import { GVISOR_RUNTIME, gvisorStatus } from '../../runtime/engine/runtimes.ts';
import {
  containersOf,
  errorOf,
  eventually,
  fn,
  startHarness,
  testEngine,
  type Harness,
} from '../helpers/harness.ts';
import { PROBE, type Probe } from '../helpers/sandbox-probe.ts';

const GVISOR = 'isolation: gvisor\n';
const KERNEL = `import { readFileSync } from 'node:fs';
export default async () => readFileSync('/proc/version', 'utf8').trim();`;
const sleeper = `export default async (e) => { await new Promise((r) => setTimeout(r, e?.ms ?? 5000)); return { slept: e?.ms ?? 5000 }; }`;
// Buffers filled with data, so the pages are really touched and count against the limit.
const HOG = `const keep = [];
export default async (e) => { if (!e?.hog) return 'fine'; for (;;) keep.push(Buffer.alloc(4 << 20, 1)); };`;

describe('isolation: gvisor', () => {
  let h: Harness;
  let p: Probe;
  const docker = new Docker();
  /** the engine's own record of a function's one container */
  const inspectOf = async (name: string) =>
    docker.getContainer((await containersOf(h.config, name))[0]!.id).inspect();

  /** until one container other than `oldId` serves `name`, warm */
  const warmAgain = (name: string, oldId: string) =>
    eventually(async () => {
      const [c, ...more] = await containersOf(h.config, name);
      const info = (await (await h.request(`/functions/${name}`)).json()) as {
        pool: { warm: number };
      };
      return !!c && more.length === 0 && c.id !== oldId && info.pool.warm === 1;
    }, 30_000);

  before(async () => {
    const status = await gvisorStatus(testEngine());
    assert.ok(
      status.ok,
      `the test engine (${process.env.DOCKER_HOST}) cannot run gVisor: ${status.line}`,
    );
    h = await startHarness(
      {
        probe: fn(
          PROBE,
          `${GVISOR}resources: { memory: 48Mi, cpu: 250m, cpu_limit: 500m }\nenv: { GREETING: hello }\npool: { min: 1, max: 1 }\n`,
        ),
        gkernel: fn(KERNEL, `${GVISOR}pool: { min: 1, max: 1 }\n`),
        rkernel: fn(KERNEL, 'pool: { min: 1, max: 1 }\n'),
        // pool.min 0 with stem cells on: a runc function would be specialized from a cell; this one not.
        gcold: fn('export default async () => "cold"', `${GVISOR}pool: { min: 0, max: 1 }\n`),
        slow: fn(sleeper, `${GVISOR}timeout_sec: 1\npool: { min: 1, max: 1 }\n`),
        hog: fn(HOG, `${GVISOR}resources: { memory: 64Mi }\npool: { min: 1, max: 1 }\n`),
      },
      {
        events: { embedded_redis: false },
        sandbox: { stem_cells: { node: { min: 1, max: 1 }, python: { min: 0, max: 0 } } },
      },
    );
    const res = await h.invoke('probe', {});
    assert.equal(res.status, 200, await res.clone().text());
    p = (await res.json()) as Probe;
  });
  after(async () => {
    if (!h) return;
    await h.close();
    assert.deepEqual(await containersOf(h.config), [], 'close removes every container');
  });

  test('its container runs under runsc; a function without isolation under the engine default', async () => {
    assert.equal((await inspectOf('gkernel')).HostConfig.Runtime, GVISOR_RUNTIME);
    assert.equal((await inspectOf('rkernel')).HostConfig.Runtime, 'runc');
  });

  test("it sees gVisor's kernel, not the host's one a runc function sees", async () => {
    const [g, r] = await Promise.all([h.invoke('gkernel', {}), h.invoke('rkernel', {})]);
    assert.equal(g.status, 200);
    assert.equal(r.status, 200);
    const [gv, rv] = [(await g.json()) as string, (await r.json()) as string];
    const host = (await readFile('/proc/version', 'utf8')).trim();
    assert.equal(rv, host, 'runc shares the host kernel');
    assert.notEqual(gv, host);
    // gVisor's Sentry answers a fixed, made-up kernel version (4.4.0, built "Sun Jan 10 15:06:54 PST 2016").
    assert.match(gv, /^Linux version 4\.4\.0 #1 SMP Sun Jan 10 15:06:54 PST 2016$/);
  });

  test('GET /functions/:name says gvisor and why its cold starts are classic; titan list shows it', async () => {
    const info = (await (await h.request('/functions/gcold')).json()) as {
      isolation: string;
      cold_start: { path: string; reason: string };
    };
    assert.equal(info.isolation, 'gvisor');
    assert.equal(info.cold_start.path, 'container');
    assert.match(info.cold_start.reason, /^classic start: isolation gvisor/);
    const runc = (await (await h.request('/functions/rkernel')).json()) as {
      isolation: string;
      cold_start: { path: string };
    };
    assert.equal(runc.isolation, 'container');
    assert.equal(
      runc.cold_start.path,
      'stem_cell',
      'the same config specializes a runc function from a cell',
    );
  });

  test('a cold call starts its own gVisor container, never a runc stem cell', async () => {
    const res = await h.invoke('gcold', {});
    assert.equal(res.status, 200);
    assert.equal(await res.json(), 'cold');
    const info = await inspectOf('gcold');
    assert.equal(info.HostConfig.Runtime, GVISOR_RUNTIME);
    assert.equal(info.Config.Labels['titan.stem'], undefined, 'not a specialized stem cell');
    const stats = (await (await h.request('/functions/gcold')).json()) as {
      cold_start: { stem_cell: number; container: number };
    };
    assert.deepEqual([stats.cold_start.stem_cell, stats.cold_start.container], [0, 1]);
  });

  test('the sandbox probe: no network, read-only root and code, not root, no capabilities', () => {
    assert.deepEqual(p.interfaces, ['lo']);
    assert.deepEqual(p.ipv4Routes, []);
    // gVisor checks the uid's permission on a root-owned directory before the mount's read-only flag
    // (the host kernel under runc: the other way round), so a write there fails with EACCES; the mounts
    // themselves are read-only either way (the root here, /fn and /titan in the next test).
    for (const w of [p.writeRoot, p.writeCode, p.writeBootstrap])
      assert.ok(['EROFS', 'EACCES'].includes(w), w);
    assert.equal(
      p.mounts.find((m) => m.target === '/')?.rw,
      false,
      `root mount: ${JSON.stringify(p.mounts.find((m) => m.target === '/'))}`,
    );
    assert.equal(p.writeTmp, 'ok');
    assert.equal(p.readTmp, 'ok');
    assert.equal(p.execTmp, 'EACCES', '/tmp is mounted noexec');
    assert.equal(p.cwd, '/fn');
    const [uid, gid] = h.config.sandbox.user.split(':').map(Number);
    assert.equal(p.uid, uid);
    assert.equal(p.gid, gid);
    assert.equal(p.capEff, '0000000000000000');
    assert.equal(p.capPrm, '0000000000000000');
    assert.equal(p.capBnd, '0000000000000000');
    // gVisor's /proc/self/status has no NoNewPrivs line; the engine was asked for it (next test:
    // SecurityOpt), and with every capability gone from the bounding set there is nothing to regain.
    assert.equal(p.noNewPrivs, undefined);
    assert.equal(p.env.GREETING, 'hello');
    assert.equal(p.env.DOCKER_HOST, undefined);
    assert.deepEqual(p.engineSockets, []);
  });

  test('the probe: host directories read-only, only its own /fn; the engine applies the same limits', async () => {
    const virtual = new Set([
      'proc',
      'sysfs',
      'cgroup',
      'cgroup2',
      'devpts',
      'mqueue',
      'tmpfs',
      'overlay',
      'devtmpfs',
    ]);
    const fromHost = p.mounts.filter((m) => !virtual.has(m.type));
    assert.deepEqual(
      fromHost.filter((m) => m.rw).map((m) => m.target),
      [],
      `writable host mounts: ${JSON.stringify(fromHost)}`,
    );
    for (const target of ['/fn', '/titan', '/run/titan'])
      assert.ok(
        fromHost.some((m) => m.target === target && !m.rw),
        `${target} mounted read-only`,
      );
    // The engine holds the limits on the whole sandbox (Sentry and Gofer): the same numbers as under runc.
    const { HostConfig } = await inspectOf('probe');
    assert.equal(HostConfig.Memory, parseMemory('48Mi'));
    assert.equal(HostConfig.MemorySwap, parseMemory('48Mi'));
    assert.equal(HostConfig.NanoCpus, 0.5e9);
    assert.equal(HostConfig.PidsLimit, h.config.sandbox.pidsLimit);
    assert.equal(HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(HostConfig.CapDrop, ['ALL']);
    assert.deepEqual(HostConfig.SecurityOpt, ['no-new-privileges']);
    assert.equal(HostConfig.NetworkMode, 'none');
    const binds = (HostConfig.Binds ?? []).map((b) => b.split(':')[1]).sort();
    assert.deepEqual(
      binds,
      ['/fn', '/run/titan', '/titan'],
      'only its own folder, the bootstrap and the socket directory',
    );
  });

  test('past timeout_sec: 504 timeout, the container is replaced, and the next call works', async () => {
    const [old] = await containersOf(h.config, 'slow');
    const res = await h.invoke('slow', { ms: 5000 });
    assert.equal(res.status, 504);
    assert.deepEqual(await errorOf(res), {
      code: 'timeout',
      message: "function 'slow' did not finish within 1000 ms",
      details: { timeout_ms: 1000 },
    });
    // timeout_sec covers the queue wait too: the next call waits until the replacement is warm.
    assert.ok(await warmAgain('slow', old!.id), 'a warm container replaced the timed-out one');
    const next = await h.invoke('slow', { ms: 10 });
    assert.equal(next.status, 200);
    assert.deepEqual(await next.json(), { slept: 10 });
  });

  test('exhausting resources.memory gives 502 out_of_memory; the function recovers', async () => {
    const [old] = await containersOf(h.config, 'hog');
    const res = await h.invoke('hog', { hog: true });
    assert.equal(res.status, 502);
    const e = await errorOf(res);
    assert.equal(e.code, 'out_of_memory', JSON.stringify(e));
    assert.equal(e.details?.memory_limit_bytes, parseMemory('64Mi'));
    assert.ok(await warmAgain('hog', old!.id), 'a warm container replaced the killed one');
    const again = await h.invoke('hog', {});
    assert.equal(again.status, 200);
    assert.equal(await again.json(), 'fine');
  });
});
