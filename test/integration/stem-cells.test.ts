// Stem cells on the real engine: a min 0 function's first call served by a cell specialized for it (the
// answering container was listed as a stem cell before the call: asserted through the engine and the
// API, not by timing), with exactly the sandbox of a container of its own (the sandbox test's probe, run
// in both), only its own files at /fn, Node, TypeScript and Python; the pool refilled; failing
// specializations answered as failing starts and their cells never reused; a burst larger than the pool;
// and idle, redeploy, drain and logs working for specialized containers as for any other.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { scopeOf } from '../../gateway/gateway.ts';
import { parseMemory } from '../../runtime/quantity.ts';
import { LABEL } from '../../runtime/sandbox.ts';
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

const HOSTNAME = `import { hostname } from 'node:os';\nexport default async () => hostname();\n`;
const LISTER = `
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
const walk = (dir, rel = '') => readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? walk(dir, join(rel, e.name)) : [join(rel, e.name)]).sort();
export default async () => ({ fn: walk('/fn'), build: walk('/fn-build') });
`;
const MANIFEST_48 =
  'resources: { memory: 48Mi, cpu: 250m, cpu_limit: 500m }\nenv: { GREETING: hello }\npool: { min: 0, max: 1 }\n';
const PY = {
  'function.yaml':
    'runtime: python\npool: { min: 0, max: 1 }\nenv: { GREETING: hi }\nconfig: { answer: 42 }\n',
  'main.py': [
    'import os, socket',
    'def handler(event, context):',
    '    return {"host": socket.gethostname(), "fn": context.function_name, "config": context.config, "greeting": os.environ.get("GREETING"),',
    '            "stem": os.environ.get("TITAN_STEM"), "files": sorted(os.listdir("/fn")), "uid": os.getuid()}',
    '',
  ].join('\n'),
};

interface ColdStart {
  path: string;
  reason: string;
  stem_cell: number;
  container: number;
}

describe('stem cells', () => {
  let h: Harness;
  let imageId: string;
  before(async () => {
    // The node image named by its id: the same image, but not the stem cells' name for it, so this
    // twin of the probe takes the classic path and shows what a container of its own looks like.
    imageId = (await new Docker().getImage('node:20-bookworm-slim').inspect()).Id;
    h = await startHarness(
      {
        cold: fn(HOSTNAME, 'pool: { min: 0, max: 2 }\n'),
        probe: fn(PROBE, MANIFEST_48),
        probetwin: fn(PROBE, `${MANIFEST_48}image: "${imageId}"\n`),
        lister: { ...fn(LISTER, 'pool: { min: 0, max: 1 }\n'), 'data.txt': 'mine' },
        tsfn: {
          'function.yaml': 'handler: index.ts\npool: { min: 0, max: 1 }\n',
          'index.ts':
            'export default async (): Promise<string> => {\n  const where: Error = new Error("where");\n  return where.stack!.split("\\n")[1]!.trim();\n};\n',
        },
        py: PY,
        broken: fn(
          'throw new Error("cannot load: no DATABASE_URL");\nexport default async () => 1;\n',
          'pool: { min: 0, max: 1 }\n',
        ),
        hungry: fn(
          'const keep = [];\nfor (let i = 0; i < 32; i++) keep.push(Buffer.alloc(4 << 20, 1));\nexport default async () => keep.length;\n',
          'resources: { memory: 48Mi }\npool: { min: 0, max: 1 }\n',
        ),
        idler: fn(HOSTNAME, 'pool: { min: 0, max: 1, idle_sec: 1 }\n'),
        logger: fn(
          'export default async (e, ctx) => { console.log("hello from " + ctx.invocationId); return "logged"; };\n',
          'pool: { min: 0, max: 1 }\n',
        ),
      },
      {
        sandbox: { stem_cells: { node: { min: 1, max: 3 }, python: { min: 1, max: 1 } } },
        events: { embedded_redis: false },
      },
    );
  });
  after(async () => {
    if (!h) return;
    await h.close();
    assert.deepEqual(
      await containersOf(h.config),
      [],
      'close removes every container, stem cells too',
    );
  });

  /** Every container created as a stem cell of the runtime: ready, or specialized since (labels never change). */
  const stemIds = async (runtime: string) =>
    (
      await testEngine().listByLabels({
        [LABEL.scope]: scopeOf(h.config.stateDir),
        [LABEL.stem]: runtime,
      })
    ).map((c) => c.id);
  const metrics = async () => (await h.request('/metrics')).text();
  const metric = async (series: string) =>
    Number(
      (await metrics()).match(
        new RegExp(`^${series.replace(/[{}"=,]/g, '\\$&')} (\\S+)$`, 'm'),
      )?.[1] ?? NaN,
    );
  const ready = (runtime: string, n = 1) =>
    eventually(
      async () => (await metric(`titan_stem_cells{runtime="${runtime}",state="ready"}`)) >= n,
      30_000,
    );
  const coldStart = async (name: string) =>
    ((await (await h.request(`/functions/${name}`)).json()) as { cold_start: ColdStart })
      .cold_start;
  /** A call, with the id of the container that answered (functions here return their hostname). */
  const servedBy = async (name: string) => {
    const res = await h.invoke(name, {});
    assert.equal(res.status, 200, await res.clone().text());
    return { cold: res.headers.get('x-cold-start'), host: (await res.json()) as string };
  };
  const idOf = (ids: string[], host: string) => ids.find((id) => id.startsWith(host));

  test("a min 0 function's first call is served by a stem cell: the answering container was a stem cell before the call", async () => {
    assert.ok(await ready('node'));
    const before = await stemIds('node');
    const first = await servedBy('cold');
    assert.equal(first.cold, 'true', 'x-cold-start still marks it');
    assert.ok(
      idOf(before, first.host),
      `container ${first.host} was one of the stem cells ${before}`,
    );
    assert.deepEqual(
      await containersOf(h.config, 'cold'),
      [],
      'no container was started for the function',
    );
    const again = await servedBy('cold');
    assert.deepEqual(again, { cold: 'false', host: first.host }, 'then it is the warm pool member');
    const route = await coldStart('cold');
    assert.deepEqual(
      { ...route, reason: undefined },
      { path: 'stem_cell', reason: undefined, stem_cell: 1, container: 0 },
    );
    assert.match(
      route.reason,
      /^a node stem cell is specialized for it \(sandbox\.stem_cells\.node\.min 1\)/,
    );
    assert.equal(
      await metric('titan_cold_starts_by_path_total{function="cold",path="stem_cell"}'),
      1,
    );
    assert.equal(await metric('titan_cold_starts_total{function="cold"}'), 1);
    assert.ok(
      (await metric('titan_stem_cell_specialization_seconds_count{runtime="node",outcome="ok"}')) >=
        1,
    );
  });

  test('the stem pool is refilled: a new cell, never the one taken', async () => {
    assert.ok(await ready('node'));
    const served = (await servedBy('cold')).host;
    const fresh = (await stemIds('node')).filter((id) => !id.startsWith(served));
    assert.ok(fresh.length >= 1, 'a cell that is not the specialized one');
    assert.equal(await metric('titan_stem_cells{runtime="node",state="ready"}'), 1);
  });

  test("a specialized container has exactly the sandbox of the function's own: no network, read-only root, uid, caps, limits, env, only its own /fn", async () => {
    assert.ok(await ready('node'));
    const stemBefore = await stemIds('node');
    const [stemRes, ownRes] = [await h.invoke('probe', {}), await h.invoke('probetwin', {})];
    assert.equal(stemRes.status, 200, await stemRes.clone().text());
    assert.equal(ownRes.status, 200, await ownRes.clone().text());
    const [stem, own] = [(await stemRes.json()) as Probe, (await ownRes.json()) as Probe];
    assert.deepEqual(
      [(await coldStart('probe')).stem_cell, (await coldStart('probetwin')).container],
      [1, 1],
      'one of each path',
    );
    assert.ok(idOf(stemBefore, stem.env.HOSTNAME!), 'the probe ran in a stem cell');
    assert.equal(
      (await coldStart('probetwin')).reason,
      `its image ${imageId} is not the node stem cells' image node:20-bookworm-slim`,
    );

    // The documented sandbox, on its own terms (as test/integration/sandbox.test.ts checks it).
    const [uid, gid] = h.config.sandbox.user.split(':').map(Number);
    assert.deepEqual(
      [stem.uid, stem.gid, stem.capEff, stem.capBnd, stem.noNewPrivs],
      [uid, gid, '0000000000000000', '0000000000000000', '1'],
    );
    assert.deepEqual([stem.interfaces, stem.ipv4Routes], [['lo'], []]);
    assert.deepEqual(
      [stem.writeRoot, stem.writeCode, stem.writeBootstrap, stem.writeTmp, stem.execTmp],
      ['EROFS', 'EROFS', 'EROFS', 'ok', 'EACCES'],
    );
    assert.equal(
      stem.memoryLimit,
      parseMemory('48Mi'),
      "the function's memory, set on the cell through the engine",
    );
    const [quota, period] = stem.cpuQuota.split(' ').map(Number);
    assert.equal(quota! / period!, 0.5, 'cpu_limit 500m');
    assert.equal(stem.pidsLimit, h.config.sandbox.pidsLimit);
    assert.deepEqual(
      [stem.env.GREETING, stem.env.TITAN_FUNCTION, stem.env.TITAN_STEM],
      ['hello', 'probe', undefined],
    );

    // And the same as the classic container of the same manifest, field by field. What differs by
    // nature: the container's hostname and the function's name; the cell's empty read-only /fn-build.
    const comparable = (p: Probe, name: string) => {
      const { HOSTNAME: _host, TITAN_FUNCTION: fnName, ...env } = p.env;
      assert.equal(fnName, name);
      // The engine mounts binds of the same depth in no fixed order: compare them as a set.
      const mounts = p.mounts
        .filter((m) => m.target !== '/fn-build')
        .map(({ target, type, rw }) => ({ target, type, rw }))
        .sort((a, b) => a.target.localeCompare(b.target) || a.type.localeCompare(b.type));
      return { ...p, env, mounts };
    };
    assert.deepEqual(comparable(stem, 'probe'), comparable(own, 'probetwin'));
    assert.deepEqual(
      stem.mounts.filter((m) => m.target === '/fn-build').map((m) => m.rw),
      [false],
      '/fn-build read-only',
    );
  });

  test("/fn holds the function's own files and nothing else; /fn-build is empty for JavaScript", async () => {
    assert.ok(await ready('node'));
    const res = await h.invoke('lister', {});
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      fn: ['data.txt', 'function.yaml', 'index.js'],
      build: [],
    });
    assert.equal((await coldStart('lister')).stem_cell, 1);
  });

  test('TypeScript: the build output comes in at /fn-build and stack traces point at the sources (source maps on)', async () => {
    assert.ok(await ready('node'));
    const res = await h.invoke('tsfn', {});
    assert.equal(res.status, 200, await res.clone().text());
    assert.match((await res.json()) as string, /\(\/fn\/index\.ts:2:\d+\)$/);
    assert.equal((await coldStart('tsfn')).stem_cell, 1);
  });

  test('Python: a python stem cell specialized with the env, config and files of the function', async () => {
    assert.ok(await ready('python'));
    const before = await stemIds('python');
    const res = await h.invoke('py', {});
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('x-cold-start'), 'true');
    const body = (await res.json()) as {
      host: string;
      fn: string;
      config: unknown;
      greeting: string;
      stem: unknown;
      files: string[];
      uid: number;
    };
    assert.ok(idOf(before, body.host), 'served by a python stem cell');
    assert.deepEqual(
      { ...body, host: undefined },
      {
        host: undefined,
        fn: 'py',
        config: { answer: 42 },
        greeting: 'hi',
        stem: null,
        files: ['function.yaml', 'main.py'],
        uid: Number(h.config.sandbox.user.split(':')[0]),
      },
    );
    assert.equal(
      await metric('titan_cold_starts_by_path_total{function="py",path="stem_cell"}'),
      1,
    );
    assert.ok(await ready('python'), 'refilled');
  });

  test('a handler that does not load: 409 function_invalid, as a start answers; the cell is removed, the pool refills and serves the next', async () => {
    assert.ok(await ready('node'));
    const before = await stemIds('node');
    const res = await h.invoke('broken', {});
    assert.equal(res.status, 409);
    const err = await errorOf(res);
    assert.equal(err.code, 'function_invalid');
    assert.equal(
      err.message,
      "function 'broken' is invalid: handler failed to load: cannot load: no DATABASE_URL",
    );
    const again = await h.invoke('broken', {});
    assert.equal(again.status, 409);
    assert.equal(
      (await errorOf(again)).message,
      "function 'broken' is invalid: handler failed to load: cannot load: no DATABASE_URL",
    );
    assert.equal(
      await metric('titan_stem_cell_specialization_seconds_count{runtime="node",outcome="failed"}'),
      1,
      'the version is invalid: no second cell is spent on it',
    );
    assert.equal(
      ((await (await h.request('/functions/broken')).json()) as { status: string }).status,
      'invalid',
    );
    const after = await stemIds('node');
    assert.equal(
      before.filter((id) => !after.includes(id)).length,
      1,
      'the cell it took is gone from the engine',
    );
    assert.ok(await ready('node'), 'refilled');
    await h.addFunction('fresh', fn(HOSTNAME, 'pool: { min: 0, max: 1 }\n'));
    assert.ok(await eventually(async () => (await h.request('/functions/fresh')).status === 200));
    await h.gw.registry.settled();
    const freshBefore = await stemIds('node');
    const served = await servedBy('fresh');
    assert.ok(idOf(freshBefore, served.host), 'a fresh cell served it');
    assert.ok(
      !idOf(
        before.filter((id) => !after.includes(id)),
        served.host,
      ),
      'not the discarded one',
    );
  });

  test('a handler that runs out of memory while loading: 502 sandbox_error, the cell is gone', async () => {
    assert.ok(await ready('node'));
    const before = await stemIds('node');
    const res = await h.invoke('hungry', {});
    assert.equal(res.status, 502);
    const err = await errorOf(res);
    assert.equal(err.code, 'sandbox_error');
    assert.match(err.message, /exited with code 137 \(out of memory\) while starting/);
    assert.ok(
      await eventually(async () => {
        const now = await stemIds('node');
        return before.filter((id) => !now.includes(id)).length === 1;
      }),
      'the cell it took is removed',
    );
  });

  test('a burst larger than the stem pool: every call answered, one by a stem cell and the rest by containers of their own; the pool refills', async () => {
    for (const name of ['burst1', 'burst2', 'burst3'])
      await h.addFunction(name, fn(HOSTNAME, 'pool: { min: 0, max: 1 }\n'));
    assert.ok(
      await eventually(async () =>
        (
          await Promise.all(['burst1', 'burst2', 'burst3'].map((n) => h.request(`/functions/${n}`)))
        ).every((r) => r.status === 200),
      ),
    );
    await h.gw.registry.settled();
    assert.ok(await ready('node'));
    const results = await Promise.all(['burst1', 'burst2', 'burst3'].map((n) => h.invoke(n, {})));
    assert.deepEqual(
      results.map((r) => [r.status, r.headers.get('x-cold-start')]),
      [
        [200, 'true'],
        [200, 'true'],
        [200, 'true'],
      ],
    );
    const routes = await Promise.all(['burst1', 'burst2', 'burst3'].map(coldStart));
    assert.deepEqual(
      [routes.reduce((n, r) => n + r.stem_cell, 0), routes.reduce((n, r) => n + r.container, 0)],
      [1, 2],
    );
    assert.ok(await ready('node', 3), 'refilled, and raised by the two misses to max 3');
  });

  test('idle: a specialized container above min is stopped after idle_sec like any, and the next cold call takes a new cell', async () => {
    assert.ok(await ready('node'));
    const first = await servedBy('idler');
    const ids = await stemIds('node');
    const id = idOf(ids, first.host)!;
    assert.ok(id, 'a stem cell served it');
    assert.ok(
      await eventually(async () => !(await stemIds('node')).includes(id), 15_000),
      'removed after idle_sec 1',
    );
    assert.ok(await ready('node'));
    const second = await servedBy('idler');
    assert.equal(second.cold, 'true');
    assert.notEqual(second.host, first.host, 'never the same container again');
    assert.equal((await coldStart('idler')).stem_cell, 2);
  });

  test("logs: a specialized container's output is the function's", async () => {
    assert.ok(await ready('node'));
    const res = await h.invoke('logger', {});
    assert.equal(res.status, 200);
    const id = res.headers.get('x-invocation-id')!;
    assert.ok(
      await eventually(async () => {
        const r = await h.request(`/invocations/${id}/logs`);
        if (r.status !== 200) return false;
        return ((await r.json()) as { lines: Array<{ text: string }> }).lines.some(
          (l) => l.text === `hello from ${id}`,
        );
      }),
      'the line is attributed to its invocation',
    );
    const lines = (
      (await (await h.request('/functions/logger/logs')).json()) as {
        lines: Array<{ text: string }>;
      }
    ).lines;
    assert.ok(lines.some((l) => l.text === `hello from ${id}`));
  });

  test('redeploy and drain: the specialized container of the old version drains and is removed; the new version starts from a cell', async () => {
    assert.ok(await ready('node'));
    const old = await servedBy('cold');
    const oldId = idOf(await stemIds('node'), old.host)!;
    await writeFile(join(h.functionsDir, 'cold', 'index.js'), `${HOSTNAME}export const v = 2;\n`);
    assert.ok(
      await eventually(async () => !(await stemIds('node')).includes(oldId), 15_000),
      'the old container drained and was removed',
    );
    await h.gw.registry.settled();
    assert.ok(await ready('node'));
    const before = await stemIds('node');
    const next = await servedBy('cold');
    // A redeploy proves the new version loads before it replaces the old (keep-serving), even at
    // pool.min 0: that proof took a stem cell, and the container stays to serve the first call warm.
    assert.equal(next.cold, 'false');
    assert.ok(idOf(before, next.host), "the new version's container is a specialized stem cell");
    assert.deepEqual((await coldStart('cold')).stem_cell, 0, 'no call of the new version was cold');

    const nextId = idOf(before, next.host)!;
    await h.removeFunction('cold');
    assert.ok(
      await eventually(async () => !(await stemIds('node')).includes(nextId), 15_000),
      'undeployed: its container is removed',
    );
  });
});
