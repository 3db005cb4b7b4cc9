// Stem cells in the registry, on the in-memory engine (test/helpers/fake-engine.ts): a min 0 function's
// cold call specialized from a ready cell (code, limits, environment), the cell refilled, a handler that
// does not load or dies loading answered as a start would and the cell discarded, an engine refusing
// the function's limits falling back to a container of its own, a burst larger than the stem pool.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { defaultConfig, type RuntimeConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';
import { parseMemory } from '../../runtime/quantity.ts';
import { Registry } from '../../runtime/registry.ts';
import { LABEL } from '../../runtime/sandbox.ts';
import type { StemEvent } from '../../runtime/stem-cells/cold-start-route.ts';
import { FakeEngine, gate, type FakeContainer } from '../helpers/fake-engine.ts';

const HANDLER = 'export default async () => "played by the fake engine"';

async function until<T>(check: () => T, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('stem cells in the registry, on the fake engine', () => {
  let dir: string;
  let config: RuntimeConfig;
  let engine: FakeEngine;
  let registry: Registry;
  let events: Array<{ fn: string; e: StemEvent }>;

  const write = async (folder: string, manifest: string) => {
    await mkdir(join(config.functionsDir, folder), { recursive: true });
    await writeFile(join(config.functionsDir, folder, 'function.yaml'), manifest);
    await writeFile(join(config.functionsDir, folder, 'index.js'), HANDLER);
  };
  const call = async (name: string) => {
    const ctx = { invocationId: randomUUID(), deadline: Date.now() + 5000, trigger: {} };
    return registry.get(name)!.invoke('{}', ctx);
  };
  const cells = (): FakeContainer[] =>
    engine.live().filter((c) => c.isStemCell && c.specializeRequests.length === 0);
  const readyCells = (n: number) =>
    until(() => registry.stemCells.stats('node').ready === n && cells().length === n);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tu-stem-'));
    const base = defaultConfig(dir);
    config = {
      ...base,
      functionsDir: join(dir, 'functions'),
      stateDir: join(dir, 's'),
      sandbox: {
        ...base.sandbox,
        startupTimeoutSec: 5,
        stemCells: { node: { min: 1, max: 2 }, python: { min: 0, max: 8 } },
      },
    };
    await mkdir(config.functionsDir, { recursive: true });
    engine = new FakeEngine();
    events = [];
    registry = new Registry({
      config,
      engine,
      scope: 'unit',
      onPoolEvent: (fn, e) => {
        if (e.kind === 'cold_start' || e.kind === 'specialized') events.push({ fn, e });
      },
    });
    await registry.start();
    await registry.settled();
  });
  afterEach(async () => {
    await registry.close();
    assert.deepEqual(engine.live(), [], 'close removes every container, stem cells too');
    assert.deepEqual(
      await readdir(join(config.stateDir, 'cells')),
      [],
      "and the cells' code directories",
    );
    await rm(dir, { recursive: true, force: true });
  });

  test("a min 0 function's first call is served by a stem cell, specialized as the function; the pool refills", async () => {
    await write('cold', 'version: "1"\npool: { min: 0, max: 2 }\nenv: { GREETING: hi }\n');
    await registry.rescan();
    await registry.settled();
    assert.ok(await readyCells(1));
    const [cell] = cells();
    assert.equal(cell!.spec.labels[LABEL.stem], 'node');
    assert.equal(cell!.spec.labels[LABEL.fn], undefined);

    const first = await call('cold');
    assert.equal(first.cold, true);
    assert.deepEqual(
      JSON.parse(first.resultJson),
      { fn: 'cold', version: '' },
      'answered by the cell, now the function',
    );
    assert.equal(cell!.specializeRequests.length, 1);
    const env = cell!.specializeRequests[0]!;
    assert.deepEqual(
      [env.TITAN_FUNCTION, env.TITAN_HANDLER, env.GREETING, env.HOME],
      ['cold', '/fn/index.js', 'hi', '/tmp'],
    );
    assert.deepEqual(
      cell!.updates,
      [],
      "the default limits are the cell's already: no engine update",
    );
    assert.equal((await call('cold')).cold, false, 'then it is a warm pool member');
    assert.deepEqual(registry.info('cold')!.cold_start, {
      path: 'stem_cell',
      reason:
        "a node stem cell is specialized for it (sandbox.stem_cells.node.min 1); it has the stem cells' limits (the sandbox defaults)",
      stem_cell: 1,
      container: 0,
    });
    assert.deepEqual(
      events.map(({ fn, e }) => [
        fn,
        e.kind,
        'outcome' in e ? e.outcome : e.kind === 'cold_start' ? e.path : '',
      ]),
      [
        ['cold', 'specialized', 'ok'],
        ['cold', 'cold_start', 'stem_cell'],
      ],
    );
    assert.ok(await readyCells(1), 'a new cell replaced it');
    assert.notEqual(cells()[0], cell);
    assert.deepEqual(
      await readdir(
        join(
          config.stateDir,
          'cells',
          (await readdir(join(config.stateDir, 'cells'))).find((d) =>
            cell!.spec.binds.some((b) => b.hostPath.includes(d)),
          )!,
          'fn',
        ),
      ),
      ['function.yaml', 'index.js'],
      "the cell's /fn holds the function's folder",
    );
  });

  test("a function with its own resources gets them through the engine's update before its handler loads", async () => {
    await write(
      'big',
      'pool: { min: 0, max: 1 }\nresources: { memory: 256Mi, cpu: 500m, cpu_limit: "2" }\n',
    );
    await registry.rescan();
    await registry.settled();
    assert.ok(await readyCells(1));
    const [cell] = cells();
    await call('big');
    assert.deepEqual(cell!.updates, [
      {
        cpuShare: 0.5,
        cpuLimit: 2,
        memoryBytes: parseMemory('256Mi'),
        pidsLimit: config.sandbox.pidsLimit,
      },
    ]);
  });

  test('a handler that does not load: 409 function_invalid as a start would answer; the cell is discarded, the pool refills', async () => {
    engine.behaviour = (spec) =>
      spec.env.TITAN_STEM
        ? {
            onSpecialize: (env) =>
              env.TITAN_FUNCTION === 'broken' ? { load: "Unexpected token '}'" } : undefined,
          }
        : {};
    await write('broken', 'pool: { min: 0, max: 1 }\n');
    await write('fine', 'pool: { min: 0, max: 1 }\n');
    await registry.rescan();
    await registry.settled();
    assert.ok(await readyCells(1));
    const [cell] = cells();
    await assert.rejects(
      call('broken'),
      (err) =>
        err instanceof TitanError &&
        err.code === 'function_invalid' &&
        err.message === "handler failed to load: Unexpected token '}'",
    );
    assert.equal(cell!.state, 'removed', 'never handed to anyone else');
    assert.equal(registry.info('broken')!.status, 'invalid');
    assert.ok(await readyCells(1), 'refilled');
    assert.deepEqual(
      JSON.parse((await call('fine')).resultJson),
      { fn: 'fine', version: '' },
      'the next function gets a fresh cell',
    );
    assert.equal(registry.info('fine')!.cold_start.stem_cell, 1);
  });

  test('a cell that dies loading (out of memory) answers sandbox_error as a start would, and is gone', async () => {
    engine.behaviour = (spec) =>
      spec.env.TITAN_STEM ? { onSpecialize: () => ({ exitCode: 137, oomKilled: true }) } : {};
    await write('hungry', 'pool: { min: 0, max: 1 }\n');
    await registry.rescan();
    await registry.settled();
    assert.ok(await readyCells(1));
    const [cell] = cells();
    await assert.rejects(
      call('hungry'),
      (err) =>
        err instanceof TitanError &&
        err.code === 'sandbox_error' &&
        /^container exited with code 137 \(out of memory\) while starting/.test(err.message),
    );
    assert.equal(cell!.state, 'removed');
    assert.deepEqual(
      events.map(({ e }) => ('outcome' in e ? e.outcome : '')),
      ['failed'],
    );
  });

  test("an engine that refuses the function's limits: its call is served by a container of its own, and so are its later cold starts", async () => {
    engine.behaviour = (spec) =>
      spec.env.TITAN_STEM ? { failUpdate: 'Minimum memory limit allowed is 6MB' } : {};
    await write('tiny', 'pool: { min: 0, max: 1 }\nresources: { memory: 16Mi }\n');
    await registry.rescan();
    await registry.settled();
    assert.ok(await readyCells(1));
    const [cell] = cells();
    const res = await call('tiny');
    assert.equal(res.cold, true);
    assert.deepEqual(
      JSON.parse(res.resultJson),
      { fn: 'tiny', version: '0.0.0' },
      "a container labelled as the function's",
    );
    assert.equal(cell!.state, 'removed');
    const info = registry.info('tiny')!.cold_start;
    assert.deepEqual([info.path, info.stem_cell, info.container], ['container', 0, 1]);
    assert.equal(
      info.reason,
      "the engine refused to give a stem cell the limits of 'tiny': Minimum memory limit allowed is 6MB",
    );
  });

  test('while a start that a call waits for is under way, stem cells are not refilled: they would slow it down', async () => {
    await write('own', 'pool: { min: 0, max: 1 }\nimage: node:22-slim\n');
    await registry.rescan();
    await registry.settled();
    assert.ok(await readyCells(1));
    const held = gate();
    engine.behaviour = (spec) => (spec.labels[LABEL.fn] === 'own' ? { ready: held.promise } : {});
    const served = call('own');
    await until(() => engine.live('own').length === 1);
    const taken = registry.stemCells.take('node')!;
    assert.ok(taken, 'the ready cell, taken away');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      registry.stemCells.stats('node'),
      { ready: 0, starting: 0, target: 1 },
      'no refill while the call waits',
    );
    held.open();
    assert.equal((await served).cold, true);
    await taken.stop();
    assert.ok(await readyCells(1), 'refilled once it was served');
  });

  test('a burst larger than the stem pool: one call takes the cell, the others start containers, none fails; the pool grows toward max', async () => {
    for (const f of ['a', 'b', 'c']) await write(f, 'pool: { min: 0, max: 1 }\n');
    await registry.rescan();
    await registry.settled();
    assert.ok(await readyCells(1));
    const results = await Promise.all(['a', 'b', 'c'].map(call));
    assert.deepEqual(
      results.map((r) => r.cold),
      [true, true, true],
    );
    const paths = ['a', 'b', 'c'].map((f) => registry.info(f)!.cold_start);
    assert.deepEqual(
      paths.map((p) => p.stem_cell + p.container),
      [1, 1, 1],
    );
    assert.equal(
      paths.reduce((n, p) => n + p.stem_cell, 0),
      1,
      'one stem cell was ready',
    );
    assert.equal(
      registry.stemCells.stats('node').target,
      2,
      'two misses raise the target by one each, capped at max 2',
    );
    assert.ok(await readyCells(2), 'refilled to the raised target');
  });
});
