// Hostile function authors against stem cells: a specialized container sees its own function's files and
// nothing of another function or of a previous tenant (a cell is never reused); a function cannot make
// its container another function by forging a specialize request from inside; a cell with no function
// answers an invocation with a clear error; and a crashed gateway's cells, specialized or not, are
// removed by the next one on its state directory.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { scopeOf } from '../../gateway/gateway.ts';
import { LABEL } from '../../runtime/sandbox.ts';
import {
  containersOf,
  eventually,
  fn,
  newHarnessDir,
  startHarness,
  testEngine,
  type Harness,
} from '../helpers/harness.ts';

const STEM = { node: { min: 1, max: 2 }, python: { min: 1, max: 1 } };

/** Lists /fn and tries the other function's file by name; answers with the container's hostname. */
const snooper = (other: string) => `
import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
const walk = (rel = '') => readdirSync(join('/fn', rel), { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? walk(join(rel, e.name)) : [join(rel, e.name)]).sort();
const tryRead = (p) => { try { return readFileSync(p, 'utf8'); } catch (e) { return e.code; } };
export default async () => ({ host: hostname(), files: walk(), other: tryRead('/fn/${other}'), build: readdirSync('/fn-build') });
`;

/**
 * Finds the bootstrap's HTTP server from inside (every connection it serves carries `.server`), hands
 * it one end of a connection the function made itself, and sends it a specialize request naming
 * another handler: what a function could try to turn its container into another function.
 */
const FORGER = `
import http from 'node:http';
import net from 'node:net';
export default async () => {
  const server = process._getActiveHandles().map((h) => h.server).find((s) => s instanceof http.Server);
  if (!server) return { found: false };
  const path = '/tmp/forged-' + process.hrtime.bigint() + '.sock';
  const listener = net.createServer();
  await new Promise((r) => listener.listen(path, r));
  const accepted = new Promise((r) => listener.once('connection', r));
  const client = net.connect(path);
  server.emit('connection', await accepted);
  try {
    return await new Promise((resolve, reject) => {
      const req = http.request({ createConnection: () => client, method: 'POST', path: '/specialize', headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ found: true, status: res.statusCode, body: JSON.parse(body) }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ env: { TITAN_HANDLER: '/fn/other.mjs', TITAN_FUNCTION: 'victim' }, sourceMaps: false }));
    });
  } finally {
    client.destroy();
    listener.close();
  }
};
`;

const PY_FORGER = {
  'function.yaml': 'runtime: python\npool: { min: 0, max: 1 }\n',
  'main.py': [
    'import json, sys',
    'def handler(event, context):',
    '    main = sys.modules["__main__"]',
    '    refused = main.specialize(json.dumps({"env": {"TITAN_HANDLER": "/fn/other.py", "TITAN_FUNCTION": "victim"}}))',
    '    return {"refused": refused, "fn": main.FUNCTION_NAME}',
    '',
  ].join('\n'),
  'other.py': 'def handler(event, context):\n    return "hijacked"\n',
};

describe('security: stem cells against a hostile function', () => {
  let h: Harness;
  let imageId: string;
  before(async () => {
    imageId = (await new Docker().getImage('node:20-bookworm-slim').inspect()).Id;
    h = await startHarness(
      {
        alpha: {
          ...fn(snooper('secret-beta.txt'), 'pool: { min: 0, max: 1, idle_sec: 1 }\n'),
          'secret-alpha.txt': 'alpha only',
        },
        beta: {
          ...fn(snooper('secret-alpha.txt'), 'pool: { min: 0, max: 1, idle_sec: 1 }\n'),
          'secret-beta.txt': 'beta only',
        },
        forger: {
          ...fn(FORGER, 'pool: { min: 0, max: 1 }\n', 'index.mjs'),
          'function.yaml': 'handler: index.mjs\npool: { min: 0, max: 1 }\n',
          'other.mjs': 'export default async () => "hijacked";\n',
        },
        // The same forger in a container of its own (the image by its id: not the stem cells' name for it).
        ownforger: {
          ...fn(FORGER, '', 'index.mjs'),
          'function.yaml': `handler: index.mjs\nimage: "${imageId}"\npool: { min: 0, max: 1 }\n`,
        },
        pyforger: PY_FORGER,
      },
      { sandbox: { stem_cells: STEM }, events: { embedded_redis: false } },
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

  const stemIds = async (runtime: string) =>
    (
      await testEngine().listByLabels({
        [LABEL.scope]: scopeOf(h.config.stateDir),
        [LABEL.stem]: runtime,
      })
    ).map((c) => c.id);
  const ready = (runtime: string) =>
    eventually(() => h.gw.registry.stemCells.stats(runtime as 'node').ready >= 1, 30_000);
  const call = async (name: string) => {
    const res = await h.invoke(name, {});
    assert.equal(res.status, 200, await res.clone().text());
    return res.json() as Promise<Record<string, unknown>>;
  };

  test("a specialized container sees its own function's files and nothing of another's, nor of a previous tenant's", async () => {
    const seen = new Set<string>();
    for (const [name, own, other] of [
      ['alpha', 'secret-alpha.txt', 'beta'],
      ['beta', 'secret-beta.txt', 'alpha'],
    ] as const) {
      assert.ok(await ready('node'));
      const cellsBefore = await stemIds('node');
      const got = await call(name);
      assert.ok(
        cellsBefore.some((id) => id.startsWith(got.host as string)),
        `${name} was served by a stem cell`,
      );
      assert.deepEqual(
        got.files,
        ['function.yaml', 'index.js', own],
        `${name} sees exactly its own folder`,
      );
      assert.equal(got.other, 'ENOENT', `${name} cannot read ${other}'s file`);
      assert.deepEqual(got.build, []);
      assert.ok(
        !seen.has(got.host as string),
        'a container that served one function never serves another',
      );
      seen.add(got.host as string);
    }
    // On the host, each cell's code directory holds one function's files, or nothing (a ready cell).
    const cellsDir = join(h.config.stateDir, 'cells');
    for (const cell of await readdir(cellsDir)) {
      const files = (await readdir(join(cellsDir, cell, 'fn'))).sort();
      assert.ok(
        [
          [],
          ['function.yaml', 'index.js', 'secret-alpha.txt'],
          ['function.yaml', 'index.js', 'secret-beta.txt'],
        ].some((f) => JSON.stringify(f) === JSON.stringify(files)),
        `cell ${cell}: ${files}`,
      );
    }
    // The previous tenant: alpha's container idles out and is removed from the engine, not recycled;
    // alpha's next cold start and every later one get containers never seen before.
    const [alphaHost] = [...seen];
    assert.ok(
      await eventually(
        async () => !(await stemIds('node')).some((id) => id.startsWith(alphaHost!)),
        15_000,
      ),
      "alpha's container is removed after idle_sec",
    );
    assert.ok(await ready('node'));
    const again = await call('alpha');
    assert.ok(!seen.has(again.host as string), 'a new container for alpha');
    assert.deepEqual(again.files, ['function.yaml', 'index.js', 'secret-alpha.txt']);
  });

  test('a function cannot specialize its own container again: a specialize request forged from inside is refused (node, python)', async () => {
    assert.ok(await ready('node'));
    const forged = await call('forger');
    assert.deepEqual(forged, {
      found: true,
      status: 409,
      body: {
        ok: false,
        error: { name: 'StemCellError', message: "refused: already specialized as 'forger'" },
      },
    });
    const after = await call('forger');
    assert.equal(
      after.status,
      409,
      'the next call still runs the forger, not the handler it named',
    );

    const own = await call('ownforger');
    assert.deepEqual(
      own,
      {
        found: true,
        status: 409,
        body: { ok: false, error: { name: 'StemCellError', message: 'refused: not a stem cell' } },
      },
      'a container of its own never takes one',
    );

    assert.ok(await ready('python'));
    assert.deepEqual(await call('pyforger'), {
      refused: "already specialized as 'pyforger'",
      fn: 'pyforger',
    });
    assert.deepEqual(
      await call('pyforger'),
      { refused: "already specialized as 'pyforger'", fn: 'pyforger' },
      'still itself',
    );
  });

  test('a stem cell with no function answers an invocation with a clear error (node, python)', async () => {
    for (const runtime of ['node', 'python'] as const) {
      assert.ok(await ready(runtime));
      const cell = h.gw.registry.stemCells.take(runtime)!;
      assert.ok(cell, `a ready ${runtime} cell`);
      try {
        const reply = await cell.container.invoke(
          JSON.stringify({ event: {}, context: { invocationId: 'x' } }),
          { ms: 5000, error: () => new Error('no answer') },
        );
        assert.equal(reply.outcome, 'error', runtime);
        assert.deepEqual(JSON.parse(reply.body), {
          name: 'StemCellError',
          message:
            'this container is a stem cell with no function loaded: it serves invocations only once the gateway specialized it',
        });
      } finally {
        await cell.stop();
      }
    }
  });

  test("a crashed gateway's stem cells, specialized or not, are removed by the next one on its state directory", async () => {
    const dir = await newHarnessDir();
    const scope = scopeOf(join(dir, 's'));
    const listStem = () =>
      testEngine().listByLabels({ [LABEL.scope]: scope, [LABEL.stem]: 'node' });
    const root = fileURLToPath(new URL('../../', import.meta.url));
    // A harness gateway in a process of its own: two ready cells, one more specialized by a call; then SIGKILL.
    const script = `
      import { eventually, fn, startHarness } from './test/helpers/harness.ts';
      const h = await startHarness({ tenant: fn('export default async () => "served"', 'pool: { min: 0, max: 1 }\\n') },
        { sandbox: { stem_cells: { node: { min: 2, max: 2 }, python: { min: 0, max: 1 } } }, events: { embedded_redis: false } }, { dir: ${JSON.stringify(dir)} });
      await eventually(() => h.gw.registry.stemCells.stats('node').ready === 2, 30000);
      const res = await h.invoke('tenant', {});
      await eventually(() => h.gw.registry.stemCells.stats('node').ready === 2, 30000);
      process.stdout.write(res.status + ' ' + (await res.json()) + '\\n');
      setInterval(() => {}, 60000);`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let next: Harness | undefined;
    try {
      const said = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(
          () => reject(new Error('the child gateway did not serve in 60 s')),
          60_000,
        );
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) {
            clearTimeout(timer);
            resolve(out.trim());
          }
        });
      });
      assert.equal(said, '200 served');
      child.kill('SIGKILL');
      await exited;
      const left = await listStem();
      assert.equal(
        left.length,
        3,
        'a killed gateway leaves its cells running: two ready, one specialized',
      );
      assert.equal(
        (await readdir(join(dir, 's', 'cells'))).length,
        3,
        'and their code directories',
      );

      // Its own stem cells off, so that every cell left in the scope would be a leftover.
      const off = { stem_cells: { node: { min: 0, max: 0 }, python: { min: 0, max: 0 } } };
      next = await startHarness({}, { events: { embedded_redis: false }, sandbox: off }, { dir });
      assert.deepEqual(await listStem(), [], 'every leftover cell is removed');
      assert.deepEqual(
        await readdir(join(dir, 's')).then((d) => d.filter((x) => x === 'cells')),
        [],
        'and the code directories with them',
      );
      await next.close();
      next = undefined;
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await next?.close();
      for (const c of await containersOf({ stateDir: join(dir, 's') }))
        await testEngine().remove(c.id);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
