// Unit tests for the stem cells' parts that need no engine: the pool of ready cells (fake cells, a
// hand-driven clock), which path a function's cold starts take and why, the stem cell's container spec
// against the function's own, and how a function's folder is placed in a cell's code directory.
import assert from 'node:assert/strict';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultConfig, loadConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';
import { resolveManifest } from '../../runtime/manifest.ts';
import {
  BUILD_MOUNT,
  containerSpecFor,
  functionEnv,
  functionLimits,
  LABEL,
  sandboxLimits,
  stemCellSpecFor,
} from '../../runtime/sandbox.ts';
import type { FunctionSpec } from '../../runtime/spec.ts';
import { fillFrom } from '../../runtime/stem-cells/code-dir.ts';
import {
  coldStartRoute,
  startupOnlyEnv,
  type StemCellKind,
} from '../../runtime/stem-cells/cold-start-route.ts';
import { StemPool, type StemPoolStats } from '../../runtime/stem-cells/stem-pool.ts';

class FakeCell {
  readonly exited: Promise<void>;
  stopped = false;
  private exit!: () => void;
  constructor(readonly n: number) {
    this.exited = new Promise<void>((resolve) => (this.exit = resolve));
  }
  die(): void {
    this.exit();
  }
  async stop(): Promise<void> {
    this.stopped = true;
    this.exit();
  }
}

/** Starts that resolve when the test says so, or fail with the error it gives. */
class Starts {
  readonly cells: FakeCell[] = [];
  readonly pending: Array<{ ok: () => FakeCell; fail: (err: Error) => void }> = [];
  start = (): Promise<FakeCell> =>
    new Promise((resolve, reject) => {
      this.pending.push({
        ok: () => {
          const c = new FakeCell(this.cells.length + 1);
          this.cells.push(c);
          resolve(c);
          return c;
        },
        fail: reject,
      });
    });
  /** Resolve every start waiting now; let the pool see them. */
  async settle(): Promise<void> {
    for (const p of this.pending.splice(0)) p.ok();
    await sleep(0);
  }
}

describe('stem pool', () => {
  let clock = 0;
  let starts: Starts;
  let pool: StemPool<FakeCell>;
  let seen: StemPoolStats[];
  let taken: Set<FakeCell | undefined>;
  const make = (min: number, max: number) => {
    seen = [];
    taken = new Set();
    pool = new StemPool({
      min,
      max,
      start: starts.start,
      now: () => clock,
      holdMs: 60_000,
      retryBaseMs: 10,
      onChange: (s) => seen.push(s),
    });
    const take = pool.take.bind(pool);
    pool.take = () => {
      const c = take();
      taken.add(c);
      return c;
    };
    pool.start();
    return pool;
  };
  beforeEach(() => {
    clock = 1_000_000;
    starts = new Starts();
  });
  afterEach(async () => {
    const closing = pool.close();
    await starts.settle(); // starts still pending are stopped as they arrive
    await closing;
    assert.ok(
      starts.cells.every((c) => c.stopped !== taken.has(c)),
      "close stops every cell it still had, ready or starting; the ones taken are the takers'",
    );
  });

  test('keeps min cells ready; a take hands one out and starts its replacement at once', async () => {
    make(2, 4);
    assert.deepEqual(pool.stats(), { ready: 0, starting: 2, target: 2 });
    assert.equal(pool.take(), undefined, 'none ready yet: a miss');
    await starts.settle();
    assert.deepEqual(
      pool.stats(),
      { ready: 3, starting: 0, target: 3 },
      'the miss raised the target by one',
    );
    const cell = pool.take();
    assert.equal(cell, starts.cells[0], 'the oldest ready cell');
    assert.deepEqual(pool.stats(), { ready: 2, starting: 1, target: 3 });
    assert.ok(!cell!.stopped, "a cell handed out is the taker's to stop");
    assert.deepEqual(
      seen.at(-1),
      { ready: 2, starting: 1, target: 3 },
      'every change is told (metrics)',
    );
  });

  test('misses raise the target up to max; after holdMs without one it is min again and extra cells stop', async () => {
    make(1, 3);
    await starts.settle();
    pool.take();
    for (let i = 0; i < 5; i++) assert.equal(pool.take(), undefined);
    assert.equal(pool.stats().target, 3, 'capped at max');
    await starts.settle();
    assert.deepEqual(pool.stats(), { ready: 3, starting: 0, target: 3 });
    clock += 59_999;
    pool.tick();
    assert.equal(pool.stats().target, 3, 'held while a miss is recent');
    clock += 1;
    pool.tick();
    assert.deepEqual(pool.stats(), { ready: 1, starting: 0, target: 1 });
    await sleep(0);
    assert.deepEqual(
      starts.cells.map((c) => c.stopped),
      [false, false, true, true],
      "the newest extra cells stopped; the taken one is not the pool's",
    );
  });

  test('a start that fails hands nothing out and is retried after a backoff', async () => {
    make(1, 1);
    const failures: string[] = [];
    (pool as unknown as { opts: { onStartFailed: (e: Error) => void } }).opts.onStartFailed = (e) =>
      failures.push(e.message);
    starts.pending.shift()!.fail(new Error('image missing'));
    await sleep(0);
    assert.deepEqual(failures, ['image missing']);
    assert.deepEqual(pool.stats(), { ready: 0, starting: 0, target: 1 });
    assert.equal(pool.take(), undefined);
    assert.equal(starts.pending.length, 0, 'no start before the backoff');
    await sleep(30);
    assert.equal(starts.pending.length, 1, 'retried');
    await starts.settle();
    assert.equal(pool.take(), starts.cells[0]);
  });

  test('a ready cell that dies is dropped and replaced; it is never handed out', async () => {
    make(1, 1);
    await starts.settle();
    const dead = starts.cells[0]!;
    dead.die();
    await sleep(0);
    assert.deepEqual(pool.stats(), { ready: 0, starting: 0, target: 1 });
    assert.equal(pool.take(), undefined);
    await sleep(30);
    await starts.settle();
    assert.equal(pool.take(), starts.cells[1], 'its replacement');
  });

  test('refills wait while a start that calls wait for holds the pool, and start once every hold is released', async () => {
    make(1, 2);
    await starts.settle();
    const first = pool.hold();
    const second = pool.hold();
    assert.equal(pool.take(), starts.cells[0]);
    assert.equal(pool.take(), undefined, 'a miss');
    assert.equal(starts.pending.length, 0, 'nothing starts while held');
    first();
    first();
    assert.equal(starts.pending.length, 0, 'a release counts once; one hold is left');
    second();
    assert.equal(starts.pending.length, 2, 'then the pool fills to its raised target');
  });

  test('min 0 is off: nothing starts and a take is no miss', async () => {
    make(0, 8);
    assert.equal(pool.take(), undefined);
    assert.deepEqual(pool.stats(), { ready: 0, starting: 0, target: 0 });
    assert.equal(starts.pending.length, 0);
    assert.deepEqual(seen, [{ ready: 0, starting: 0, target: 0 }], 'the gauges still hear of it');
  });
});

describe('cold start route', () => {
  let dir: string;
  const config = defaultConfig('/srv');
  const limits = sandboxLimits(config);
  const kind: StemCellKind = { min: 2, image: config.sandbox.image, limits: limits.defaultLimits };
  const spec = (raw: Record<string, unknown>): FunctionSpec =>
    resolveManifest(raw, {
      dir,
      folderName: 'f',
      config: { ...config, sandbox: { ...config.sandbox, fsRoots: [dir] } },
      cwd: dir,
    });
  const route = (raw: Record<string, unknown>, k: StemCellKind = kind) => {
    const fn = spec(raw);
    return coldStartRoute(fn, functionLimits(fn, limits), k);
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tu-route-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  test('a plain function takes a stem cell; one with other resources too, its limits set through the engine', () => {
    assert.deepEqual(route({}), {
      path: 'stem_cell',
      reason:
        "a node stem cell is specialized for it (sandbox.stem_cells.node.min 2); it has the stem cells' limits (the sandbox defaults)",
    });
    const sized = route({ resources: { memory: '256Mi' } });
    assert.equal(sized.path, 'stem_cell');
    assert.match(
      sized.reason,
      /its resources differ from the sandbox defaults, so the engine sets its limits on the cell first/,
    );
    assert.equal(
      route({ env: { NODE_ENV: 'x', TZ: 'UTC', GREETING: 'hi' } }).path,
      'stem_cell',
      'env set at run time is fine',
    );
  });

  test('what cannot be given to a running container keeps the classic start, with the reason', () => {
    assert.deepEqual(route({}, { ...kind, min: 0 }), {
      path: 'container',
      reason: 'sandbox.stem_cells.node.min is 0: stem cells are off for node',
    });
    assert.deepEqual(route({ image: 'node:22-slim' }), {
      path: 'container',
      reason: `its image node:22-slim is not the node stem cells' image ${config.sandbox.image}`,
    });
    assert.deepEqual(route({ permissions: { fs: { allow: [`${dir}/**`] } } }), {
      path: 'container',
      reason:
        'permissions.fs mounts host paths into its container, and a mount cannot be added to a running one',
    });
    assert.deepEqual(
      route({ env: { NODE_OPTIONS: '--max-old-space-size=64', UV_THREADPOOL_SIZE: '8' } }),
      {
        path: 'container',
        reason: 'env NODE_OPTIONS, UV_THREADPOOL_SIZE take effect only when a process starts',
      },
    );
    assert.deepEqual(
      route(
        { runtime: 'python', env: { PYTHONPATH: '/fn/lib' } },
        { ...kind, image: config.sandbox.pythonImage },
      ),
      {
        path: 'container',
        reason: 'env PYTHONPATH takes effect only when a process starts',
      },
    );
  });

  test('the keys read only at process start, per runtime', () => {
    const env = Object.fromEntries(
      [
        'NODE_OPTIONS',
        'NODE_PATH',
        'NODE_ENV',
        'NODE_EXTRA_CA_CERTS',
        'UV_THREADPOOL_SIZE',
        'LD_PRELOAD',
        'LANG',
        'LC_ALL',
        'MALLOC_ARENA_MAX',
        'PYTHONPATH',
        'PYTHONHASHSEED',
        'TZ',
        'HTTP_PROXY',
        'NODEJS',
      ].map((k) => [k, '1']),
    );
    assert.deepEqual(startupOnlyEnv({ runtime: 'node', env }), [
      'LANG',
      'LC_ALL',
      'LD_PRELOAD',
      'MALLOC_ARENA_MAX',
      'NODE_EXTRA_CA_CERTS',
      'NODE_OPTIONS',
      'NODE_PATH',
      'UV_THREADPOOL_SIZE',
    ]);
    assert.deepEqual(startupOnlyEnv({ runtime: 'python', env }), [
      'LANG',
      'LC_ALL',
      'LD_PRELOAD',
      'MALLOC_ARENA_MAX',
      'PYTHONHASHSEED',
      'PYTHONPATH',
    ]);
  });
});

describe('stem cell spec', () => {
  const config = defaultConfig('/srv');
  const limits = sandboxLimits(config);
  const fn = (raw: Record<string, unknown>, build?: FunctionSpec['build']): FunctionSpec => ({
    ...resolveManifest(raw, { dir: '/srv/functions/f', folderName: 'f', config }),
    ...(build ? { build } : {}),
  });
  const at = { containerName: 'c', socketDir: '/srv/s/run/ab', scope: 'sc' };
  const cell = { ...at, codeDir: '/srv/s/cells/ab/fn', buildDir: '/srv/s/cells/ab/build' };

  test("specialized, a cell is the function's own container: same image, command, user, flags, tmpfs, limits and environment", () => {
    for (const f of [
      fn({
        env: { GREETING: 'hi' },
        config: { a: 1 },
        resources: { memory: '48Mi', cpu: '250m', cpu_limit: '500m' },
      }),
      fn({ handler: 'index.ts' }, { dir: '/srv/s/build/f-1', handler: 'index.mjs' }),
      fn({ runtime: 'python' }),
    ]) {
      const own = containerSpecFor(f, limits, at);
      const stem = stemCellSpecFor(f.runtime, f.image, limits, cell);
      // What specialization changes: the limits (engine update) and the process's environment (bootstrap).
      const specialized = { ...stem, ...functionLimits(f, limits), env: functionEnv(f) };
      const { binds: ownBinds, labels: ownLabels, ...ownRest } = own;
      const { binds: stemBinds, labels: stemLabels, ...stemRest } = specialized;
      assert.deepEqual(stemRest, ownRest, f.runtime);
      assert.deepEqual(stem.env.TITAN_STEM, '1', 'the bootstrap waits for a function');
      assert.equal(stem.env.TITAN_HANDLER, undefined, 'a stem cell names no function');
      // Labels cannot change on a running container: a cell never carries a function's.
      assert.deepEqual(stemLabels, {
        [LABEL.managed]: 'true',
        [LABEL.scope]: 'sc',
        [LABEL.stem]: f.runtime,
      });
      assert.equal(ownLabels[LABEL.fn], 'f');
      // The same mounts, from the cell's own directories; /fn-build is there (empty) even when no build is.
      const shape = (b: typeof ownBinds) => b.map((x) => [x.containerPath, x.readOnly]);
      const ownShape = shape(ownBinds);
      if (!f.build) ownShape.splice(1, 0, [BUILD_MOUNT, true]);
      assert.deepEqual(shape(stemBinds), ownShape);
      assert.ok(
        stemBinds.every((b) => b.readOnly),
        'every bind read-only',
      );
      assert.deepEqual(
        stemBinds.slice(0, 2).map((b) => b.hostPath),
        [cell.codeDir, cell.buildDir],
      );
    }
  });
});

describe('code directory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tu-code-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const folder = async (root: string) => {
    await mkdir(join(root, 'node_modules', 'dep'), { recursive: true, mode: 0o750 });
    await writeFile(join(root, 'index.js'), 'export default 1');
    await writeFile(join(root, 'secret.txt'), 'mine', { mode: 0o600 });
    await writeFile(join(root, 'node_modules', 'dep', 'index.js'), 'module.exports = 2');
    await symlink('/etc/passwd', join(root, 'passwd'));
    await symlink('node_modules/dep', join(root, 'dep'));
    execFileSync('mkfifo', [join(root, 'pipe')]);
  };

  test('hard links of the files, symlinks as they are (never followed), modes kept, no FIFO', async () => {
    const src = join(dir, 'src');
    const dst = join(dir, 'dst');
    await mkdir(src, { mode: 0o751 });
    await folder(src);
    await mkdir(dst);
    assert.deepEqual(await fillFrom(src, dst), { linked: 3, copied: 0, skipped: 1 });
    assert.deepEqual((await readdir(dst)).sort(), [
      'dep',
      'index.js',
      'node_modules',
      'passwd',
      'secret.txt',
    ]);
    assert.equal(
      (await stat(join(dst, 'index.js'))).ino,
      (await stat(join(src, 'index.js'))).ino,
      'the same file',
    );
    assert.equal(
      await readlink(join(dst, 'passwd')),
      '/etc/passwd',
      'a link, resolved inside the container, not the host file copied',
    );
    assert.ok((await lstat(join(dst, 'passwd'))).isSymbolicLink());
    assert.equal(await readlink(join(dst, 'dep')), 'node_modules/dep');
    assert.equal((await stat(join(dst, 'secret.txt'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dst, 'node_modules'))).mode & 0o777, 0o750);
    assert.equal(
      (await stat(dst)).mode & 0o777,
      0o751,
      "the directory itself takes the folder's mode",
    );
    assert.equal(
      await readFile(join(dst, 'node_modules', 'dep', 'index.js'), 'utf8'),
      'module.exports = 2',
    );
  });

  test('on another filesystem (EXDEV) it copies instead', async () => {
    const src = await mkdtemp('/dev/shm/tu-code-');
    try {
      await folder(src);
      const dst = join(dir, 'dst');
      await mkdir(dst);
      assert.deepEqual(await fillFrom(src, dst), { linked: 0, copied: 3, skipped: 1 });
      assert.notEqual(
        (await stat(join(dst, 'index.js'))).ino,
        (await stat(join(src, 'index.js'))).ino,
      );
      assert.equal(await readFile(join(dst, 'secret.txt'), 'utf8'), 'mine');
      assert.equal((await stat(join(dst, 'secret.txt'))).mode & 0o777, 0o600);
      assert.equal(await readlink(join(dst, 'passwd')), '/etc/passwd');
    } finally {
      await rm(src, { recursive: true, force: true });
    }
  });
});

describe('config: sandbox.stem_cells', () => {
  test('on by default (node min 2, python min 1), max 8; min above max is refused with its path', async () => {
    assert.deepEqual(defaultConfig('/srv').sandbox.stemCells, {
      node: { min: 2, max: 8 },
      python: { min: 1, max: 8 },
    });
    const dir = await mkdtemp(join(tmpdir(), 'tu-conf-'));
    try {
      const file = join(dir, 'c.yaml');
      await writeFile(
        file,
        'sandbox:\n  stem_cells:\n    node: { min: 3, max: 2 }\n    python: { min: 65 }\n    ruby: { min: 1 }\n',
      );
      const err = await loadConfig({ path: file, env: {} }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof TitanError && err.code === 'invalid_config');
      assert.match(
        err.message,
        /sandbox\.stem_cells\.node\.min: must be <= max \(got min 3, max 2\)/,
      );
      assert.match(err.message, /sandbox\.stem_cells\.python\.min: /);
      assert.match(
        err.message,
        /sandbox\.stem_cells\.ruby: unknown key \(allowed keys: node, python\)/,
      );
      await writeFile(
        file,
        'sandbox:\n  stem_cells:\n    node: { max: 4 }\n    python: { min: 0 }\n',
      );
      assert.deepEqual((await loadConfig({ path: file, env: {} })).sandbox.stemCells, {
        node: { min: 2, max: 4 },
        python: { min: 0, max: 8 },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
