// The functions directory is followed however a change is written: replaced by a rename (sed -i,
// git checkout, editors that save atomically), written in place (also after such a rename), deleted
// and recreated, a whole folder moved in or out, and a nested file (a module the handler imports, a
// package in node_modules) changed. Each change is made on disk only: nothing asks for a rescan.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import {
  containersOf,
  errorOf,
  eventually,
  fn,
  startHarness,
  type Harness,
} from '../helpers/harness.ts';

const HTTP_ONLY = { events: { embedded_redis: false } };
/** Well past the watcher's debounce and a container start; a missed change fails at this bound. */
const SEEN_MS = 10_000;

type Info = {
  name: string;
  status: string;
  version: string;
  error?: string;
  update_failed?: { code: string; reason: string };
};

describe('the functions directory watcher', () => {
  let h: Harness;
  const info = async (name: string): Promise<Info | undefined> => {
    const res = await h.request(`/functions/${name}`);
    return res.status === 200 ? ((await res.json()) as Info) : undefined;
  };
  /** Polls until `name` answers `value` (200); true when it did within SEEN_MS. */
  const answers = (name: string, value: unknown) =>
    eventually(async () => {
      const r = await h.invoke(name, {});
      return r.status === 200 && JSON.stringify(await r.json()) === JSON.stringify(value);
    }, SEEN_MS);
  const status = (name: string, want: string) =>
    eventually(async () => (await info(name))?.status === want, SEEN_MS);
  const path = (...parts: string[]) => join(h.functionsDir, ...parts);
  /** As `sed -i` does it: a new file renamed over the old one. */
  const sed = (expr: string, file: string) => promisify(execFile)('sed', ['-i', expr, file]);
  /** A folder with nested files, written outside and moved in whole (as harness.addFunction, with subfolders). */
  const moveIn = async (folder: string, files: Record<string, string>) => {
    const staging = join(h.dir, `staging-${folder}`);
    for (const [file, text] of Object.entries(files)) {
      await mkdir(dirname(join(staging, file)), { recursive: true });
      await writeFile(join(staging, file), text);
    }
    await rename(staging, path(folder));
  };

  before(async () => {
    h = await startHarness({}, HTTP_ONLY);
  });
  after(async () => {
    if (!h) return;
    await h.close();
    assert.deepEqual(await containersOf(h.config), [], 'close removes every container');
  });

  test('a manifest replaced by a rename (sed -i) is redeployed', async () => {
    await h.addFunction('renamed', fn('export default async () => "same"', 'version: "1"\n'));
    assert.ok(await status('renamed', 'ready'));
    await sed('s/"1"/"2"/', path('renamed', 'function.yaml'));
    assert.ok(
      await eventually(async () => (await info('renamed'))?.version === '2', SEEN_MS),
      'the new version is listed',
    );
    assert.ok(await status('renamed', 'ready'));
  });

  test('an in-place write after a rename-replace is seen: a manifest broken by sed -i and fixed in place comes back', async () => {
    await h.addFunction('fixed', fn('export default async () => "fixed"', 'version: "1"\n'));
    assert.ok(await answers('fixed', 'fixed'));
    await sed('s/version: "1"/timeout_sec: -1/', path('fixed', 'function.yaml'));
    // (issue #15: a broken update is shown as such while version 1 keeps serving)
    assert.ok(
      await eventually(
        async () => (await info('fixed'))?.update_failed?.code === 'invalid_manifest',
        SEEN_MS,
      ),
      'the broken manifest is seen',
    );
    assert.equal((await info('fixed'))?.version, '1');
    assert.ok(await answers('fixed', 'fixed'), 'the old version keeps serving');

    await writeFile(path('fixed', 'function.yaml'), 'version: "3"\n');
    assert.ok(
      await eventually(async () => (await info('fixed'))?.version === '3', SEEN_MS),
      'the in-place fix is seen',
    );
    assert.equal((await info('fixed'))?.status, 'ready');
    assert.ok(await answers('fixed', 'fixed'));
    // And the next in-place write too: the file stays watched.
    await writeFile(path('fixed', 'index.js'), 'export default async () => "fixed again"');
    assert.ok(await answers('fixed', 'fixed again'));
  });

  // (issue #15: a manifest gone from a working folder is a failed update; version 1 keeps serving)
  test('a manifest deleted and recreated: a failed update while gone, deployed again once back, and followed after', async () => {
    await h.addFunction('recreated', fn('export default async () => "here"', 'version: "1"\n'));
    assert.ok(await answers('recreated', 'here'));
    await rm(path('recreated', 'function.yaml'));
    assert.ok(
      await eventually(
        async () =>
          /no function\.yaml \(or plugin\.yaml\) in the folder/.test(
            (await info('recreated'))?.update_failed?.reason ?? '',
          ),
        SEEN_MS,
      ),
      'the missing manifest is seen',
    );
    assert.ok(await answers('recreated', 'here'), 'version 1 keeps serving');

    await writeFile(path('recreated', 'function.yaml'), 'version: "2"\n');
    assert.ok(
      await eventually(async () => (await info('recreated'))?.version === '2', SEEN_MS),
      'the recreated manifest is seen',
    );
    assert.equal((await info('recreated'))?.status, 'ready');
    await writeFile(path('recreated', 'function.yaml'), 'version: "3"\n');
    assert.ok(
      await eventually(async () => (await info('recreated'))?.version === '3', SEEN_MS),
      'an in-place write to the recreated file is seen',
    );
  });

  test('a whole folder moved in is deployed, and writes inside it are followed', async () => {
    await moveIn('movedin', {
      'function.yaml': 'version: "1"\n',
      'index.js': 'export default async () => "moved in"',
    });
    assert.ok(await answers('movedin', 'moved in'));
    await writeFile(
      path('movedin', 'index.js'),
      'export default async () => "edited after the move"',
    );
    assert.ok(await answers('movedin', 'edited after the move'));
  });

  test('a whole folder moved out is undeployed and its containers removed', async () => {
    await h.addFunction('movedout', fn('export default async () => "leaving"'));
    assert.ok(await answers('movedout', 'leaving'));
    await rename(path('movedout'), join(h.dir, 'moved-away'));
    assert.ok(
      await eventually(async () => (await h.invoke('movedout', {})).status === 404, SEEN_MS),
      'gone once moved out',
    );
    assert.equal((await errorOf(await h.invoke('movedout', {}))).code, 'not_found');
    assert.ok(
      await eventually(
        async () => (await containersOf(h.config, 'movedout')).length === 0,
        SEEN_MS,
      ),
      'its containers are removed',
    );
  });

  test('a module the handler imports, changed in place two levels down, redeploys the function', async () => {
    await moveIn('nested', {
      'function.yaml': 'version: "1"\n',
      'index.js': 'import { word } from "./lib/deep/word.js"; export default async () => word;',
      'lib/deep/word.js': 'export const word = "first";',
    });
    assert.ok(await answers('nested', 'first'));
    await writeFile(path('nested', 'lib', 'deep', 'word.js'), 'export const word = "second";');
    assert.ok(await answers('nested', 'second'));
  });

  test('a package in node_modules changed in place redeploys the function', async () => {
    await moveIn('withdeps', {
      'function.yaml': 'version: "1"\n',
      'index.js': 'import { word } from "dep"; export default async () => word;',
      'node_modules/dep/package.json':
        '{ "name": "dep", "type": "module", "exports": "./index.js" }',
      'node_modules/dep/index.js': 'export const word = "old package";',
    });
    assert.ok(await answers('withdeps', 'old package'));
    await writeFile(
      path('withdeps', 'node_modules', 'dep', 'index.js'),
      'export const word = "new package";',
    );
    assert.ok(await answers('withdeps', 'new package'));
  });
});
