// The lock-down, as seen from inside a function container on the real engine: a probe function reports
// what its process can see and do, and the test checks it against the documented sandbox.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseMemory } from '../../runtime/quantity.ts';
import { containersOf, fn, startHarness, type Harness } from '../helpers/harness.ts';
import { PROBE, type Probe } from '../helpers/sandbox-probe.ts';

// Set in the gateway's process: it must not reach the function.
const CANARY = 'TT_SANDBOX_CANARY';

describe('sandbox', () => {
  let h: Harness;
  let p: Probe;
  before(async () => {
    process.env[CANARY] = 'gateway-only';
    h = await startHarness(
      {
        probe: fn(
          PROBE,
          'resources: { memory: 48Mi, cpu: 250m, cpu_limit: 500m }\nenv: { GREETING: hello }\n',
        ),
      },
      { events: { embedded_redis: false } },
    );
    const res = await h.invoke('probe', {});
    assert.equal(res.status, 200, await res.clone().text());
    p = (await res.json()) as Probe;
  });
  after(async () => {
    delete process.env[CANARY];
    if (!h) return;
    await h.close();
    assert.deepEqual(await containersOf(h.config), [], 'close removes every container');
  });

  test('no network: only the loopback interface and no IPv4 routes', () => {
    assert.deepEqual(p.interfaces, ['lo']);
    assert.deepEqual(p.ipv4Routes, []);
  });

  test('the root filesystem, the code mount and the bootstrap are read-only; /tmp is writable but not executable', () => {
    assert.equal(p.writeRoot, 'EROFS');
    assert.equal(p.writeCode, 'EROFS');
    assert.equal(p.writeBootstrap, 'EROFS');
    assert.equal(p.writeTmp, 'ok');
    assert.equal(p.readTmp, 'ok');
    assert.equal(p.execTmp, 'EACCES', '/tmp is mounted noexec');
    assert.equal(p.cwd, '/fn');
  });

  test('not root, no capabilities, no new privileges', () => {
    const [uid, gid] = h.config.sandbox.user.split(':').map(Number);
    assert.notEqual(p.uid, 0);
    assert.equal(p.uid, uid);
    assert.equal(p.gid, gid);
    assert.equal(p.capEff, '0000000000000000');
    assert.equal(p.capPrm, '0000000000000000');
    assert.equal(p.capBnd, '0000000000000000', 'nothing can be regained');
    assert.equal(p.noNewPrivs, '1');
  });

  test('the memory limit, the pids limit and the CPU cap are in force', () => {
    assert.equal(p.memoryLimit, parseMemory('48Mi'));
    assert.equal(p.pidsLimit, h.config.sandbox.pidsLimit);
    const [quota, period] = p.cpuQuota.split(' ').map(Number);
    assert.ok(quota! > 0 && period! > 0, `a CFS quota is set (${p.cpuQuota})`);
    assert.equal(quota! / period!, 0.5, 'cpu_limit 500m');
  });

  test("the function gets its manifest env and the runtime's variables, never the gateway's environment", () => {
    assert.equal(p.env.GREETING, 'hello');
    assert.equal(p.env.TITAN_FUNCTION, 'probe');
    assert.equal(p.env.HOME, '/tmp');
    assert.equal(p.env[CANARY], undefined);
    assert.equal(p.env.DOCKER_HOST, undefined);
    assert.ok(
      !Object.keys(p.env).some((k) => k.startsWith('npm_')),
      'nothing of the test runner leaks',
    );
  });

  test('host directories come in read-only, the socket directory too; the engine socket never', () => {
    // Kernel filesystems (proc, sysfs, cgroup, devpts, mqueue) and tmpfs are the engine's; what is
    // left are bind mounts of host directories.
    const virtual = new Set([
      'proc',
      'sysfs',
      'cgroup',
      'cgroup2',
      'devpts',
      'mqueue',
      'tmpfs',
      'overlay',
    ]);
    const fromHost = p.mounts.filter((m) => !virtual.has(m.type));
    const writable = fromHost.filter((m) => m.rw).map((m) => m.target);
    // The gateway listens and the container dials in: it can write nothing on the host.
    assert.deepEqual(writable, [], `writable host mounts: ${JSON.stringify(fromHost)}`);
    for (const target of ['/fn', '/titan', '/run/titan'])
      assert.ok(
        fromHost.some((m) => m.target === target && !m.rw),
        `${target} mounted read-only`,
      );
    assert.deepEqual(p.engineSockets, []);
    assert.ok(
      !p.mounts.some((m) => /docker|podman|containerd/.test(m.target)),
      'no engine socket is mounted',
    );
  });
});
