// Remote deploy to a running gateway, on the real engine: `titan deploy <folder>` uploads it and
// answers once it is deployed; a redeploy replaces it (and a broken one leaves it serving, exit 1);
// `titan rm` removes it; a manifest naming another function is refused before anything is written.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../gateway/cli.ts';
import { ApiError, TitanClient } from '../../gateway/client.ts';
import { packFolder } from '../../gateway/deploy/pack.ts';
import { containersOf, eventually, startHarness, type Harness } from '../helpers/harness.ts';

const HTTP_ONLY = { events: { embedded_redis: false } };

describe('remote deploy', () => {
  let h: Harness;
  let src: string;
  let url: string;
  let client: TitanClient;
  /** Writes a function folder on the "developer's machine". */
  const folder = async (name: string, files: Record<string, string>) => {
    const dir = join(src, name);
    await rm(dir, { recursive: true, force: true });
    for (const [f, text] of Object.entries(files)) {
      await mkdir(join(dir, f, '..'), { recursive: true });
      await writeFile(join(dir, f), text);
    }
    return dir;
  };
  const call = async (name: string) => (await client.invoke(name, '{}')).result;
  /** Runs the CLI in this process; its exit status and what it wrote to stderr. */
  const cli = async (...args: string[]): Promise<{ status: number; stderr: string }> => {
    const write = process.stderr.write.bind(process.stderr);
    let stderr = '';
    process.stderr.write = ((chunk: string) => {
      stderr += chunk;
      return true;
    }) as typeof process.stderr.write;
    try {
      return { status: await main(args), stderr };
    } finally {
      process.stderr.write = write;
    }
  };

  before(async () => {
    h = await startHarness({}, HTTP_ONLY);
    url = `http://127.0.0.1:${await h.gw.listen()}`;
    client = new TitanClient({ url });
    src = await mkdtemp(join(tmpdir(), 'titan-src-'));
  });
  after(async () => {
    await h?.close();
    if (src) await rm(src, { recursive: true, force: true });
  });

  test('titan deploy uploads a folder and answers once it is deployed; it answers at once', async () => {
    const dir = await folder('hello', {
      'function.yaml': 'version: "1"\n',
      'index.js':
        "import { greet } from './lib/greet.js';\nexport default async (e) => greet(e.who ?? 'world');\n",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a handler's source, with its own template
      'lib/greet.js': 'export const greet = (w) => `hello ${w}`;\n',
    });
    const out = await cli('deploy', dir, '--gateway', url);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stderr, /deployed 'hello' version 1 \(3 files, \d+ bytes uploaded\): ready/);
    assert.equal(await call('hello'), 'hello world');
    assert.deepEqual(
      (await readdir(h.functionsDir)).sort(),
      ['hello'],
      'the folder is in place; no staging left',
    );
  });

  test('a redeploy replaces it; a broken one is reported (exit 1) and the old version keeps serving', async () => {
    await folder('hello', {
      'function.yaml': 'version: "2"\n',
      'index.js': 'export default async () => "v2";\n',
    });
    assert.equal((await cli('deploy', join(src, 'hello'), '--gateway', url)).status, 0);
    assert.equal(await call('hello'), 'v2');
    assert.equal((await client.listFunctions()).find((f) => f.name === 'hello')?.version, '2');

    await folder('hello', {
      'function.yaml': 'version: "3"\n',
      'index.js': 'export default async () => { return 3 +; };\n',
    });
    const broken = await cli('deploy', join(src, 'hello'), '--gateway', url);
    assert.equal(broken.status, 1);
    assert.match(
      broken.stderr,
      /error: function_invalid: 'hello' was uploaded but not deployed: the new version failed \(handler failed to load: .*\); version 2 keeps serving/,
    );
    assert.equal(await call('hello'), 'v2');

    // A manifest error is refused before anything is replaced.
    await folder('hello', {
      'function.yaml': 'version: "4"\ntimeout_sec: -1\n',
      'index.js': 'export default async () => "v4";\n',
    });
    await assert.rejects(
      client.deploySource('hello', (await packFolder(join(src, 'hello'))).archive),
      (e: unknown) =>
        e instanceof ApiError &&
        e.status === 400 &&
        e.code === 'invalid_manifest' &&
        /timeout_sec/.test(e.message),
    );
    assert.equal(await call('hello'), 'v2');
  });

  test('a manifest naming another function is refused, and nothing is written', async () => {
    const dir = await folder('other', {
      'function.yaml': 'name: intruder\n',
      'index.js': 'export default async () => 1;\n',
    });
    await assert.rejects(
      client.deploySource('other', (await packFolder(dir)).archive),
      (e: unknown) =>
        e instanceof ApiError &&
        e.status === 400 &&
        /names the function 'intruder', not 'other'/.test(e.message),
    );
    assert.deepEqual((await readdir(h.functionsDir)).sort(), ['hello']);
  });

  test('titan rm removes it: 404 after, folder and containers gone; a second rm is not_found', async () => {
    const out = await cli('rm', 'hello', '--gateway', url);
    assert.equal(out.status, 0, out.stderr);
    assert.equal((await h.invoke('hello', {})).status, 404);
    assert.deepEqual(await readdir(h.functionsDir), []);
    assert.ok(
      await eventually(async () => (await containersOf(h.config, 'hello')).length === 0, 10_000),
    );
    const again = await cli('rm', 'hello', '--gateway', url);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /not_found/);
  });
});
