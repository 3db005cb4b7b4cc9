// TypeScript handlers on the real engine: built on deploy, mounted beside the untouched folder, with
// compiler errors listed as invalid, redeploys on change, and build output removed with its deployment.
import assert from 'node:assert/strict';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildRoot } from '../../runtime/build.ts';
import {
  containersOf,
  errorOf,
  eventually,
  startHarness,
  type FunctionFiles,
  type Harness,
} from '../helpers/harness.ts';

type Info = { name: string; status: string; error?: string };
const HTTP_ONLY = { events: { embedded_redis: false } };
const TS = 'handler: index.ts\n';

const greeter: FunctionFiles = {
  'function.yaml': TS,
  'index.ts': `import { greet, type Greeting } from './greet.ts';
import { readdirSync } from 'node:fs';
interface In { name?: string; probe?: 'stack' | 'files' | 'write' }
export default async function handler(event: In | null): Promise<Greeting | Record<string, unknown>> {
  switch (event?.probe) {
    case 'stack': return { stack: new Error('where').stack, url: import.meta.url };
    case 'files': return { fn: readdirSync('/fn').sort(), cwd: process.cwd() };
    case 'write': {
      const { writeFileSync } = await import('node:fs');
      try { writeFileSync('/fn-build/x', '1'); return { wrote: true }; } catch (e) { return { code: (e as NodeJS.ErrnoException).code }; }
    }
    default: return greet(event?.name ?? 'world');
  }
}
`,
  'greet.ts': `export interface Greeting { message: string }
export const greet = (name: string): Greeting => ({ message: \`hello, \${name}\` });
`,
};

describe('TypeScript handlers', () => {
  let h: Harness;
  const info = async (name: string): Promise<Info | undefined> => {
    const res = await h.request(`/functions/${name}`);
    return res.status === 200 ? ((await res.json()) as Info) : undefined;
  };
  const call = async (name: string, body: unknown) => {
    const res = await h.invoke(name, body);
    assert.equal(res.status, 200, `${name}: ${res.status}`);
    return res.json() as Promise<any>;
  };
  /** The build directories of one function in the gateway's state directory. */
  const builds = async (name: string) =>
    (await readdir(buildRoot(h.config.stateDir)).catch(() => [] as string[])).filter((d) =>
      d.startsWith(`${name}-`),
    );
  /** Writes a folder (nested paths allowed) and moves it into place whole. */
  const addFolder = async (folder: string, files: FunctionFiles) => {
    const staging = join(h.dir, `.staging-${folder}`);
    for (const [file, text] of Object.entries(files)) {
      await mkdir(dirname(join(staging, file)), { recursive: true });
      await writeFile(join(staging, file), text);
    }
    await rename(staging, join(h.functionsDir, folder));
  };
  const ready = (name: string, ms = 15_000) =>
    eventually(async () => (await info(name))?.status === 'ready', ms);

  before(async () => {
    h = await startHarness({ greeter }, HTTP_ONLY);
  });
  after(async () => {
    if (!h) return;
    await h.close();
    assert.deepEqual(await containersOf(h.config), [], 'close removes every container');
  });

  test('a typed handler that imports another .ts module round trips', async () => {
    assert.equal((await info('greeter'))?.status, 'ready');
    assert.deepEqual(await call('greeter', { name: 'Ada' }), { message: 'hello, Ada' });
    assert.deepEqual(await call('greeter', null), { message: 'hello, world' });
  });

  test('the folder at /fn stays the original; the build is mounted read-only beside it; stacks map to the sources', async () => {
    const files = await call('greeter', { probe: 'files' });
    assert.deepEqual(files, { fn: ['function.yaml', 'greet.ts', 'index.ts'], cwd: '/fn' });
    assert.equal((await call('greeter', { probe: 'write' })).code, 'EROFS');
    const { stack, url } = await call('greeter', { probe: 'stack' });
    assert.equal(url, 'file:///fn-build/index.mjs');
    assert.match(stack, /\/fn\/index\.ts:6:\d+/, `source-mapped stack:\n${stack}`);
  });

  test('packages in the folder node_modules resolve from the built module', async () => {
    await addFolder('withdeps', {
      'function.yaml': TS,
      'index.ts':
        "import { shout } from 'shouty';\nexport default (e: { text: string }): string => shout(e.text);\n",
      'node_modules/shouty/package.json':
        '{"name":"shouty","type":"module","exports":"./index.js"}',
      'node_modules/shouty/index.js': 'export const shout = (s) => s.toUpperCase() + "!";\n',
    });
    assert.ok(await ready('withdeps'), JSON.stringify(await info('withdeps')));
    assert.equal(await call('withdeps', { text: 'hey' }), 'HEY!');
  });

  test('a syntax error is listed invalid with file:line:column, invoking it is 409; fixing it deploys it', async () => {
    await addFolder('tsbroken', {
      'function.yaml': TS,
      'index.ts': 'export default async (e: unknown) => {\n  const n: = 1;\n  return n;\n};\n',
    });
    const invalid = await eventually(
      async () => (await info('tsbroken'))?.status === 'invalid',
      10_000,
    );
    assert.ok(invalid, JSON.stringify(await info('tsbroken')));
    assert.match((await info('tsbroken'))!.error!, /tsbroken\/index\.ts:2:12: Unexpected "="/);
    const res = await h.invoke('tsbroken', {});
    assert.equal(res.status, 409);
    const e = await errorOf(res);
    assert.equal(e.code, 'function_invalid');
    assert.match(e.message, /index\.ts:2:12: Unexpected "="/);
    assert.deepEqual(await containersOf(h.config, 'tsbroken'), [], 'nothing is started for it');
    assert.deepEqual(await builds('tsbroken'), [], 'and nothing is left in the build root');

    // a syntax error in an imported module names that module
    await writeFile(
      join(h.functionsDir, 'tsbroken', 'index.ts'),
      "import { n } from './n.ts';\nexport default async (): Promise<number> => n;\n",
    );
    await writeFile(join(h.functionsDir, 'tsbroken', 'n.ts'), 'export const n: number = (1;\n');
    assert.ok(
      await eventually(
        async () => /tsbroken\/n\.ts:1:\d+: /.test((await info('tsbroken'))?.error ?? ''),
        10_000,
      ),
      JSON.stringify(await info('tsbroken')),
    );

    await writeFile(join(h.functionsDir, 'tsbroken', 'n.ts'), 'export const n: number = 41 + 1;\n');
    assert.ok(await ready('tsbroken'), 'the fixed handler deploys');
    assert.equal(await call('tsbroken', {}), 42);
  });

  test('changing a .ts file redeploys: new results, a new build, the old one removed once drained', async () => {
    await addFolder('tschange', {
      'function.yaml': TS,
      'index.ts': "import { v } from './v.ts';\nexport default (): string => v;\n",
      'v.ts': "export const v: string = 'v1';\n",
    });
    assert.ok(await ready('tschange'));
    assert.equal(await call('tschange', {}), 'v1');
    const [first] = await builds('tschange');
    assert.ok(first);

    await writeFile(join(h.functionsDir, 'tschange', 'v.ts'), "export const v: string = 'v2';\n");
    const switched = await eventually(async () => {
      const r = await h.invoke('tschange', {});
      assert.equal(r.status, 200, 'the old version serves until the new one is warm');
      return (await r.json()) === 'v2';
    }, 15_000);
    assert.ok(switched, 'the new code answers');
    const cleaned = await eventually(async () => {
      const now = await builds('tschange');
      return now.length === 1 && now[0] !== first;
    }, 10_000);
    assert.ok(cleaned, `one build left, the new one: ${await builds('tschange')}`);

    await h.removeFunction('tschange');
    assert.ok(
      await eventually(async () => (await builds('tschange')).length === 0, 10_000),
      'undeploying removes its build',
    );
  });
});
