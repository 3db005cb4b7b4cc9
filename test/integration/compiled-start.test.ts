// `npm start` as shipped: the gateway compiled by scripts/build.js, run by bin/start.js under plain
// node. Files found through import.meta.url (the bootstrap copied into containers, config, the UI)
// resolve as under tsx, stack traces name the .ts sources, and a changed source is rebuilt.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { build, staleReason } from '../../scripts/build.js';
import { fn } from '../helpers/harness.ts';
import { ROOT, startShippedGateway } from '../helpers/shipped-gateway.ts';

const tmp = await mkdtemp(join(tmpdir(), 'tt-build-'));
after(() => rm(tmp, { recursive: true, force: true }));

describe('compiled gateway', () => {
  test('a bundle resolves the bootstrap from the sources and its stack traces name .ts files', async () => {
    const entry = join(tmp, 'probe.ts');
    const src = (p: string) => JSON.stringify(join(ROOT, p));
    await writeFile(
      entry,
      [
        `import { BOOTSTRAP_SOURCE } from ${src('runtime/sandbox.ts')};`,
        `import { Gateway } from ${src('gateway/gateway.ts')};`,
        'console.log(JSON.stringify({ bootstrap: BOOTSTRAP_SOURCE }));',
        // No config: the constructor fails on its first use of it, inside gateway/gateway.ts.
        'new Gateway({} as never);',
      ].join('\n'),
    );
    // Inside the checkout, as dist/ is: the bundle finds its npm packages in node_modules from there.
    const outdir = join(ROOT, 'dist', `probe-${process.pid}`);
    after(() => rm(outdir, { recursive: true, force: true }));
    await build({ entries: { probe: entry }, outdir, root: ROOT });
    const run = spawnSync(process.execPath, ['--enable-source-maps', join(outdir, 'probe.js')], {
      encoding: 'utf8',
    });
    assert.notEqual(run.status, 0);
    const { bootstrap } = JSON.parse(run.stdout.split('\n')[0]!) as { bootstrap: string };
    assert.equal(bootstrap, `${join(ROOT, 'runtime', 'bootstrap')}/`);
    assert.ok(existsSync(join(bootstrap, 'node.mjs')), bootstrap);
    assert.match(run.stderr, /TypeError/);
    assert.match(
      run.stderr,
      new RegExp(`${join(ROOT, 'gateway', 'gateway.ts').replace(/[.]/g, '\\.')}:\\d+:\\d+`),
      run.stderr,
    );
    assert.doesNotMatch(run.stderr, /probe\.js:\d+/, 'no frame is left pointing into the bundle');
  });

  test('a build is stale once one of its sources is newer, and fresh again after building', async () => {
    const dir = join(tmp, 'stale');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'dep.ts'), 'export const x: number = 1;\n');
    await writeFile(join(dir, 'entry.ts'), "import { x } from './dep.ts';\nconsole.log(x);\n");
    const opts = { entries: { entry: 'entry.ts' }, outdir: join(dir, 'dist'), root: dir };
    assert.equal(staleReason(opts), 'not built yet');
    await build(opts);
    assert.equal(staleReason(opts), undefined);
    // The build made a while before the source's last change.
    const earlier = new Date(Date.now() - 60_000);
    await utimes(join(opts.outdir, 'entry.js'), earlier, earlier);
    assert.equal(staleReason(opts), 'dep.ts changed');
    await build(opts);
    assert.equal(staleReason(opts), undefined);
    await rm(join(dir, 'dep.ts'));
    assert.equal(staleReason(opts), 'dep.ts is gone');
  });

  test('bin/start.js serves a function from the compiled gateway and stops cleanly', async () => {
    const gw = await startShippedGateway(
      { hello: fn('export default async (event) => ({ hello: event.name });\n') },
      ['--enable-source-maps', 'bin/start.js'],
    );
    try {
      const res = await fetch(`${gw.url}/functions/hello/invoke`, {
        method: 'POST',
        body: '{"name":"dist"}',
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.deepEqual(await res.json(), { hello: 'dist' });
    } finally {
      assert.equal(await gw.stop('SIGTERM'), 0);
    }
    // (Not "fresh now": other work in this checkout may change a source at any moment.)
    assert.ok(existsSync(join(ROOT, 'dist', 'main.js')));
  });
});
