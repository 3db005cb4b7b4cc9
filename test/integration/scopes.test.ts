// Container scopes on the real engine: two gateways with different state directories on ONE engine
// never touch each other's containers (at start, in the orphan cleanup after a crash, at stop); and
// the same state-directory path on two "hosts" (two mount namespaces, each with its own directory
// bind-mounted at that path, as two machines would have) gets two scopes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { INSTANCE_ID_FILE, scopeOf } from '../../runtime/scope.ts';
import { startCrashableGateway } from '../helpers/crash.ts';
import {
  containersOf,
  fn,
  newHarnessDir,
  startHarness,
  testEngine,
  type Harness,
} from '../helpers/harness.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const warm = fn('export default async () => "warm";', 'pool: { min: 2, max: 2 }\n');

const idsOf = async (stateDir: string) =>
  new Set((await containersOf({ stateDir: stateDir })).map((c) => c.id));
const alive = async (ids: Set<string>) => {
  const running = new Set((await testEngine().listByLabels({})).map((c) => c.id));
  return [...ids].filter((id) => running.has(id));
};

describe('two gateways on one engine', () => {
  const harnesses: Harness[] = [];
  after(async () => {
    await Promise.allSettled(harnesses.map((h) => h.close()));
  });

  test('start, orphan cleanup after a crash and stop each touch only their own containers', async () => {
    // B: a gateway that keeps running throughout, with containers of its own.
    const b = await startHarness({ keep: warm }, { events: { embedded_redis: false } });
    harnesses.push(b);
    const bIds = await idsOf(b.config.stateDir);
    assert.ok(bIds.size >= 2, `B has its pool (and stem cells): ${bIds.size}`);

    // A: on another state directory, crashes (SIGKILL) with its containers running.
    const dirA = await newHarnessDir();
    const stateA = join(dirA, 's');
    const crashed = await startCrashableGateway(dirA, { keep: warm });
    const aIds = await idsOf(stateA);
    assert.ok(aIds.size >= 2, `A has its containers: ${aIds.size}`);
    assert.notEqual(scopeOf(stateA), scopeOf(b.config.stateDir));
    for (const id of aIds) assert.ok(!bIds.has(id), 'no container is in both scopes');
    assert.deepEqual(await alive(bIds), [...bIds], "A's start left B's containers alone");
    await crashed.kill();
    assert.equal((await alive(aIds)).length, aIds.size, 'a SIGKILL leaves its containers behind');

    // The next gateway on A's state directory removes exactly what A left, and B keeps serving.
    const a2 = await startHarness({}, { events: { embedded_redis: false } }, { dir: dirA });
    harnesses.push(a2);
    assert.equal(scopeOf(stateA), scopeOf(a2.config.stateDir), 'same directory, same scope');
    assert.deepEqual(await alive(aIds), [], "A's orphans are gone");
    assert.deepEqual(await alive(bIds), [...bIds], "A's orphan cleanup left B's containers alone");
    assert.equal((await b.invoke('keep', {})).status, 200);

    // A clean stop of A removes its own containers only.
    await a2.close();
    harnesses.splice(harnesses.indexOf(a2), 1);
    assert.deepEqual(await alive(bIds), [...bIds], "A's stop left B's containers alone");
    assert.equal((await b.invoke('keep', {})).status, 200);
  });
});

describe('the same state-directory path on two hosts', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  // Two mount namespaces, each with a directory of its own mounted at the same path: what two
  // machines with the same TITAN_STATE_DIR see. The gateway's own code computes the scope in each.
  test('gets a scope per host, and each host keeps its own on restart', async (t) => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (mount namespaces)');
    const base = await mkdtemp('/tmp/hosts-ns-');
    dirs.push(base);
    const at = join(base, 'state'); // the path both hosts use
    const disks = [join(base, 'disk-a'), join(base, 'disk-b')];
    for (const d of [at, ...disks]) await mkdir(d);
    const scopeOnHost = async (disk: string) => {
      const script = `import { scopeOf } from './runtime/scope.ts'; console.log(scopeOf(${JSON.stringify(at)}));`;
      const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
      const { stdout } = await run(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-ec',
          'mount --bind "$1" "$2"; shift 2; exec "$@"',
          'sh',
          disk,
          at,
          ...node,
        ],
        { cwd: ROOT },
      );
      return stdout.trim();
    };
    const [a, b] = await Promise.all(disks.map(scopeOnHost));
    t.diagnostic(`host A: ${a}, host B: ${b}`);
    assert.match(a, /^[0-9a-f]{12}$/);
    assert.notEqual(a, b, 'same path, two hosts, two scopes');
    // Each host's id is on its own disk, and the path itself (in this namespace) got none.
    const ids = await Promise.all(disks.map((d) => readFile(join(d, INSTANCE_ID_FILE), 'utf8')));
    assert.notEqual(ids[0], ids[1]);
    await assert.rejects(readFile(join(at, INSTANCE_ID_FILE)), { code: 'ENOENT' });
    // After a restart (a crash), each host finds its own scope again, and so its own orphans.
    assert.equal(await scopeOnHost(disks[0]!), a);
    assert.equal(await scopeOnHost(disks[1]!), b);
  });
});
