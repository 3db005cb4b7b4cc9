// The deploy state machine on the in-memory engine (test/helpers/fake-engine.ts): deploy, redeploy
// with the new version warm before the old drains, a redeploy that fails to start, a superseded
// redeploy, a rename, two folders claiming one name, undeploy with work in flight, orphans at start
// and live pool knobs. Real manifests, pools, containers' sockets and Deployments; no engine.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { defaultConfig, type RuntimeConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';
import { Registry } from '../../runtime/registry.ts';
import { LABEL } from '../../runtime/sandbox.ts';
import { FakeEngine, gate } from '../helpers/fake-engine.ts';

const SCOPE = 'unit';
const HANDLER = 'export default async () => "played by the fake engine"';
const manifest = (lines: string) => ({ 'function.yaml': lines, 'index.js': HANDLER });
const versionOf = (spec: { labels: Record<string, string> }) => spec.labels[LABEL.version];

/** Polls a condition the pools reach on their own (a prewarm after a knob change); the last value. */
async function until<T>(check: () => T, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
}

const isCode = (code: string, message?: RegExp) => (err: unknown) =>
  err instanceof TitanError && err.code === code && (!message || message.test(err.message));

describe('registry on the fake engine', () => {
  let dir: string;
  let config: RuntimeConfig;
  let engine: FakeEngine;
  let registry: Registry;
  let changes: number;

  const write = async (folder: string, files: Record<string, string>) => {
    for (const [file, text] of Object.entries(files)) {
      await mkdir(dirname(join(config.functionsDir, folder, file)), { recursive: true });
      await writeFile(join(config.functionsDir, folder, file), text);
    }
  };
  const drop = (folder: string) => rm(join(config.functionsDir, folder), { recursive: true });
  /** What rescan() does once the watcher reported a change, to the end of every warm-up and drain. */
  const reconcile = async () => {
    await registry.rescan();
    await registry.settled();
  };
  const call = async (name: string) => {
    const dep = registry.get(name);
    assert.ok(dep, `${name} is deployed`);
    const ctx = { invocationId: randomUUID(), deadline: Date.now() + 5000, trigger: {} };
    return JSON.parse((await dep.invoke('{}', ctx)).resultJson) as unknown;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tu-'));
    const base = defaultConfig(dir);
    // Stem cells off: the fake engine decides a container's behaviour from its spec, and a stem cell's
    // spec names no function (the stem path has its own tests: stem-cells.test.ts, stem-pool.test.ts).
    const stemCells = { node: { min: 0, max: 0 }, python: { min: 0, max: 0 } };
    config = {
      ...base,
      functionsDir: join(dir, 'functions'),
      stateDir: join(dir, 's'),
      sandbox: { ...base.sandbox, startupTimeoutSec: 5, stemCells },
    };
    await mkdir(config.functionsDir, { recursive: true });
    engine = new FakeEngine();
    registry = new Registry({ config, engine, scope: SCOPE });
    changes = 0;
    registry.on('change', () => changes++);
  });
  afterEach(async () => {
    await registry.close();
    assert.deepEqual(engine.live(), [], 'close removes every container');
    await rm(dir, { recursive: true, force: true });
  });

  test('a dropped folder deploys: pool.min containers warm, listed ready, invocations answered by them', async () => {
    await write('hello', manifest('version: "1"\npool: { min: 2, max: 3 }\n'));
    await reconcile();
    const info = registry.info('hello')!;
    assert.equal(info.status, 'ready');
    assert.deepEqual([info.version, info.pool.warm, info.pool.min, info.pool.max], ['1', 2, 2, 3]);
    assert.deepEqual(
      engine.live('hello').map((c) => [c.version, c.state]),
      [
        ['1', 'running'],
        ['1', 'running'],
      ],
    );
    assert.deepEqual(await call('hello'), { fn: 'hello', version: '1' });
    assert.equal(changes, 1, 'listeners (the event system) hear of it');
  });

  test('a redeploy warms the new version while the old one serves, then drains the old', async () => {
    await write('live', manifest('version: "1"\n'));
    await reconcile();
    const [old] = engine.live('live');
    const started = gate();
    const warm = gate();
    engine.behaviour = (spec) => {
      if (versionOf(spec) !== '2') return {};
      started.open();
      return { ready: warm.promise };
    };

    await write('live', manifest('version: "2"\n'));
    await registry.rescan();
    await started.promise;
    for (let i = 0; i < 3; i++)
      assert.deepEqual(
        await call('live'),
        { fn: 'live', version: '1' },
        'the old version serves meanwhile',
      );
    assert.equal(registry.info('live')!.version, '1');
    assert.deepEqual(
      engine.live('live').map((c) => [c.version, c.state]),
      [
        ['1', 'running'],
        ['2', 'running'],
      ],
    );

    warm.open();
    await registry.settled();
    assert.deepEqual(await call('live'), { fn: 'live', version: '2' });
    assert.equal(registry.info('live')!.status, 'ready');
    assert.equal(old!.state, 'removed', 'the old container is drained and removed');
    assert.deepEqual(
      engine.live('live').map((c) => c.version),
      ['2'],
    );
  });

  // Behaviour changed on purpose (issue #15): a broken update no longer takes the working version down.
  test('a redeploy whose handler fails to load leaves the old version serving, shows the failed update; the next good version replaces it', async () => {
    await write('breaks', manifest('version: "1"\n'));
    await reconcile();
    const [old] = engine.live('breaks');
    engine.behaviour = (spec) =>
      versionOf(spec) === '2' ? { fail: { load: "Unexpected token '}'" } } : {};
    await write('breaks', manifest('version: "2"\n'));
    await reconcile();
    const info = registry.info('breaks')!;
    assert.deepEqual(
      [info.status, info.version, info.error],
      ['ready', '1', undefined],
      'still the old version, ready',
    );
    assert.equal(info.update_failed?.code, 'function_invalid');
    assert.equal(info.update_failed?.reason, "handler failed to load: Unexpected token '}'");
    assert.ok(!Number.isNaN(Date.parse(info.update_failed!.at)));
    assert.deepEqual(
      await call('breaks'),
      { fn: 'breaks', version: '1' },
      'the old version answers',
    );
    assert.deepEqual(
      engine.live('breaks').map((c) => c.id),
      [old!.id],
      'the container that failed is gone; the old one stays',
    );

    await write('breaks', manifest('version: "3"\n'));
    await reconcile();
    const fixed = registry.info('breaks')!;
    assert.deepEqual([fixed.status, fixed.version, fixed.update_failed], ['ready', '3', undefined]);
    assert.deepEqual(await call('breaks'), { fn: 'breaks', version: '3' });
    assert.equal(old!.state, 'removed');
  });

  test('a broken manifest over a good version is a failed update with the manifest error; the old version serves', async () => {
    await write('mf', manifest('version: "1"\n'));
    await reconcile();
    await write('mf', manifest('version: "2"\ntimeout_sec: -1\n'));
    await reconcile();
    const info = registry.info('mf')!;
    assert.deepEqual([info.status, info.version], ['ready', '1']);
    assert.equal(info.update_failed?.code, 'invalid_manifest');
    assert.match(info.update_failed!.reason, /timeout_sec/);
    assert.deepEqual(await call('mf'), { fn: 'mf', version: '1' });
    await drop('mf');
    await reconcile();
    assert.equal(registry.has('mf'), false, 'removing the folder still undeploys it');
    assert.deepEqual(engine.live('mf'), []);
  });

  test('a redeploy whose container fails to start (not a load error) does not replace the old version', async () => {
    await write('flaky', manifest('version: "1"\n'));
    await reconcile();
    engine.behaviour = (spec) =>
      versionOf(spec) === '2' ? { fail: { engine: 'no space left on device' } } : {};
    await write('flaky', manifest('version: "2"\n'));
    await reconcile();
    const info = registry.info('flaky')!;
    assert.deepEqual([info.status, info.version], ['ready', '1']);
    assert.equal(info.update_failed?.code, 'sandbox_error');
    assert.match(info.update_failed!.reason, /no space left on device/);
    assert.deepEqual(await call('flaky'), { fn: 'flaky', version: '1' });
    assert.deepEqual(
      engine.live('flaky').map((c) => c.version),
      ['1'],
      'the new version is not retried in the background',
    );
  });

  test('with pool.min 0 a redeploy still proves one container loads before it replaces the old', async () => {
    await write('lazy', manifest('version: "1"\npool: { min: 0 }\n'));
    await reconcile();
    assert.deepEqual(await call('lazy'), { fn: 'lazy', version: '1' });
    engine.behaviour = (spec) =>
      versionOf(spec) === '2' ? { fail: { load: 'boom at import' } } : {};
    await write('lazy', manifest('version: "2"\npool: { min: 0 }\n'));
    await reconcile();
    assert.deepEqual(
      [registry.info('lazy')!.version, registry.info('lazy')!.update_failed?.code],
      ['1', 'function_invalid'],
    );
    assert.deepEqual(await call('lazy'), { fn: 'lazy', version: '1' });
  });

  test('a folder that never had a good version is invalid, and a broken update of it stays invalid', async () => {
    engine.behaviour = () => ({ fail: { load: 'never loads' } });
    await write('never', manifest('version: "1"\n'));
    await reconcile();
    assert.deepEqual(
      [registry.info('never')!.status, registry.info('never')!.update_failed],
      ['invalid', undefined],
    );
    await write('never', manifest('version: "2"\n'));
    await reconcile();
    const info = registry.info('never')!;
    assert.deepEqual(
      [info.status, info.version, info.update_failed],
      ['invalid', '2', undefined],
      'the newest error shows',
    );
    await assert.rejects(call('never'), isCode('function_invalid', /never loads/));
    await write('never', manifest('version: "3"\ntimeout_sec: -1\n'));
    await reconcile();
    assert.equal(registry.info('never')!.status, 'invalid');
    assert.match(registry.info('never')!.error!, /timeout_sec/);
  });

  test('a redeploy superseded while it warms is drained unused; the newest version is the one served', async () => {
    await write('fast', manifest('version: "1"\n'));
    await reconcile();
    const never = gate();
    const started = gate();
    engine.behaviour = (spec) => {
      if (versionOf(spec) !== '2') return {};
      started.open();
      return { ready: never.promise };
    };
    await write('fast', manifest('version: "2"\n'));
    await registry.rescan();
    await started.promise;
    await write('fast', manifest('version: "3"\n'));
    await registry.rescan();
    never.open(); // v2 comes up late, into a pool already draining
    await registry.settled();
    assert.deepEqual(await call('fast'), { fn: 'fast', version: '3' });
    assert.deepEqual(
      engine.live('fast').map((c) => c.version),
      ['3'],
      'v1 drained, v2 stopped as it came up',
    );
    const v2 = [...engine.containers.values()].find((c) => c.version === '2')!;
    assert.equal(v2.invocations, 0, 'the superseded version served nothing');
  });

  test('a renamed function: the old name is gone at once, the new one deploys', async () => {
    await write('folder', manifest('name: one\n'));
    await reconcile();
    const [first] = engine.live('one');
    await write('folder', manifest('name: two\n'));
    await registry.rescan();
    assert.equal(registry.has('one'), false, 'not listed under the old name');
    assert.equal(registry.get('one'), undefined);
    await registry.settled();
    assert.deepEqual(await call('two'), { fn: 'two', version: '0.0.0' });
    assert.deepEqual(
      registry.list().map((f) => f.name),
      ['two'],
    );
    assert.equal(first!.state, 'removed');
  });

  test('two folders claiming one name: the first keeps it, the other is invalid naming it; removing the first deploys the other', async () => {
    await write('a', manifest('name: same\n'));
    await write('b', manifest('name: same\n'));
    await reconcile();
    assert.ok(registry.get('same')!.spec.dir.endsWith('/a'));
    assert.deepEqual(
      registry.list().map((f) => [f.name, f.status]),
      [
        ['b', 'invalid'],
        ['same', 'ready'],
      ],
    );
    assert.equal(registry.invalidReason('b'), "function name 'same' is already used by folder 'a'");
    assert.equal(engine.live('same').length, 1, 'only the holder runs');

    await drop('a');
    await reconcile();
    assert.ok(
      registry.get('same')!.spec.dir.endsWith('/b'),
      'the other folder takes the name it was refused',
    );
    assert.deepEqual(
      registry.list().map((f) => [f.name, f.status]),
      [['same', 'ready']],
    );
    assert.deepEqual(await call('same'), { fn: 'same', version: '0.0.0' });
  });

  test('undeploying with work in flight: the call finishes, new calls are refused, then the container goes', async () => {
    const received = gate();
    const finish = gate();
    engine.behaviour = () => ({
      handle: async () => {
        received.open();
        await finish.promise;
        return 'finished';
      },
    });
    await write('busy', manifest('version: "1"\n'));
    await reconcile();
    const dep = registry.get('busy')!;
    const inFlight = dep.invoke('{}', {
      invocationId: randomUUID(),
      deadline: Date.now() + 5000,
      trigger: {},
    });
    await received.promise;

    await drop('busy');
    await registry.rescan();
    assert.equal(registry.has('busy'), false);
    assert.deepEqual(registry.list(), []);
    const late = dep.invoke('{}', {
      invocationId: randomUUID(),
      deadline: Date.now() + 5000,
      trigger: {},
    });
    await assert.rejects(late, isCode('not_found', /function 'busy' is being undeployed/));
    assert.deepEqual(
      engine.live('busy').map((c) => c.state),
      ['running'],
      'its container stays while the call runs',
    );

    finish.open();
    assert.equal(JSON.parse((await inFlight).resultJson), 'finished');
    await registry.settled();
    assert.deepEqual(engine.live('busy'), []);
  });

  test('start removes the containers an earlier gateway of this scope left behind, and only those', async () => {
    const mine = engine.leftBehind({
      [LABEL.managed]: 'true',
      [LABEL.scope]: SCOPE,
      [LABEL.fn]: 'old',
    });
    const others = engine.leftBehind({
      [LABEL.managed]: 'true',
      [LABEL.scope]: 'another-gateway',
      [LABEL.fn]: 'old',
    });
    await write('fresh', manifest('version: "1"\n'));
    await registry.start();
    await registry.settled();
    assert.equal(mine.state, 'removed');
    assert.equal(others.state, 'running', "another gateway's container is untouched");
    assert.equal(registry.info('fresh')!.status, 'ready');
    await engine.remove(others.id);
  });

  test('pool knobs: raising min prewarms, min above max is refused, a reset returns to the manifest', async () => {
    await write('knobs', manifest('pool: { min: 1, max: 2 }\n'));
    await reconcile();
    const raised = await registry.setPool('knobs', { min: 2 });
    assert.deepEqual([raised.pool.min, raised.pool_overridden], [2, true]);
    assert.ok(
      await until(() => registry.info('knobs')!.pool.warm === 2),
      'a second container prewarmed',
    );

    await assert.rejects(
      registry.setPool('knobs', { min: 3 }),
      isCode('invalid_request', /pool\.min must be <= pool\.max \(would be min 3, max 2\)/),
    );
    await assert.rejects(
      registry.setPool('nothing', { max: 1 }),
      isCode('not_found', /no function named 'nothing'/),
    );

    const reset = await registry.resetPool('knobs');
    assert.deepEqual([reset.pool.min, reset.pool_overridden], [1, false]);
  });
});
