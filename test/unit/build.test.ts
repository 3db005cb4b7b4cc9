// Unit tests for runtime/build.ts: TypeScript handlers built with esbuild into the state directory.
import assert from 'node:assert/strict';
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { buildHandler, buildRoot, needsBuild, removeBuild } from '../../runtime/build.ts';
import { defaultConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';
import { resolveManifest } from '../../runtime/manifest.ts';
import type { FunctionSpec } from '../../runtime/spec.ts';

let tmp: string;
let root: string;
before(async () => {
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'titan-build-')));
  root = buildRoot(path.join(tmp, 'state'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A function folder <tmp>/<name> with `files`, and its spec (handler index.ts unless given). */
async function fnFolder(
  name: string,
  files: Record<string, string>,
  handler = 'index.ts',
): Promise<FunctionSpec> {
  const dir = path.join(tmp, name);
  await rm(dir, { recursive: true, force: true });
  for (const [f, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await writeFile(path.join(dir, f), text);
  }
  return resolveManifest({ handler }, { dir, folderName: name, config: defaultConfig(tmp) });
}

/** Runs `fn`, asserts it throws function_invalid, returns the error. */
async function buildError(spec: FunctionSpec): Promise<TitanError> {
  try {
    await buildHandler(spec, root);
  } catch (e) {
    assert.ok(e instanceof TitanError, `expected TitanError, got ${e}`);
    assert.equal(e.code, 'function_invalid');
    return e;
  }
  assert.fail('expected function_invalid');
}

const TYPED = {
  'index.ts': `import { greet, type Greeting } from './lib/greet.ts';
export default async function handler(event: { name?: string } | null): Promise<Greeting> {
  return greet(event?.name ?? 'world');
}
`,
  'lib/greet.ts': `export interface Greeting { message: string; length: number }
export const greet = (name: string): Greeting => ({ message: \`hello, \${name}\`, length: name.length });
`,
};

describe('buildHandler', () => {
  test('JavaScript handlers need no build: the spec comes back as it was', async () => {
    for (const h of ['index.js', 'a.mjs', 'b.cjs']) assert.equal(needsBuild(h), false, h);
    for (const h of ['index.ts', 'src/a.mts']) assert.equal(needsBuild(h), true, h);
    const spec = await fnFolder('plain', { 'index.js': 'export default () => 1' }, 'index.js');
    assert.equal(await buildHandler(spec, root), spec);
  });

  test('a typed handler and the module it imports become one ES module in the build root', async () => {
    const spec = await fnFolder('typed', TYPED);
    const built = await buildHandler(spec, root);
    assert.ok(built.build, 'build is set');
    assert.equal(built.build.handler, 'index.mjs');
    assert.equal(path.dirname(built.build.dir), root);
    assert.match(path.basename(built.build.dir), /^typed-[0-9a-f]{12}-[0-9a-f]{6}$/);
    assert.deepEqual((await readdir(built.build.dir)).sort(), ['index.mjs', 'index.mjs.map']);
    assert.deepEqual(
      { ...built, build: undefined },
      { ...spec, build: undefined },
      'nothing else changes',
    );
    assert.equal(
      (await stat(built.build.dir)).mode & 0o777,
      0o755,
      'readable by the container user',
    );

    const mod = await import(pathToFileURL(path.join(built.build.dir, 'index.mjs')).href);
    assert.deepEqual(await mod.default({ name: 'Ada' }), { message: 'hello, Ada', length: 3 });
    // Stack traces in the container map to the sources where the function folder is mounted.
    const map = JSON.parse(await readFile(path.join(built.build.dir, 'index.mjs.map'), 'utf8'));
    assert.equal(map.sourceRoot, '/fn/');
    assert.deepEqual([...map.sources].sort(), ['index.ts', 'lib/greet.ts']);
    assert.equal(map.sourcesContent, undefined, 'the sources are in /fn already');
  });

  test("the folder's CommonJS files are bundled too, with require working in the ES module output", async () => {
    const spec = await fnFolder('legacy', {
      'index.ts':
        "import legacy from './legacy.cjs';\nexport default (): string => legacy.base('/a/b/c.txt');",
      'legacy.cjs':
        "const path = require('node:path');\nmodule.exports = { base: (p) => path.basename(p) };",
    });
    const built = await buildHandler(spec, root);
    const mod = await import(pathToFileURL(path.join(built.build!.dir, 'index.mjs')).href);
    assert.equal(mod.default(), 'c.txt');
  });

  test('every build gets its own directory; its name carries the hash of the output', async () => {
    const spec = await fnFolder('hashed', {
      'index.ts': 'export const handler = (): number => 1;',
    });
    const a = (await buildHandler(spec, root)).build!.dir;
    const b = (await buildHandler(spec, root)).build!.dir;
    assert.notEqual(
      a,
      b,
      'a redeploy of the same content never shares the directory an old drain removes',
    );
    const hashOf = (d: string) => path.basename(d).split('-')[1];
    assert.equal(hashOf(a), hashOf(b));
    await writeFile(path.join(spec.dir, 'index.ts'), 'export const handler = (): number => 2;');
    const c = (await buildHandler(spec, root)).build!.dir;
    assert.notEqual(hashOf(c), hashOf(a), 'changed content, changed location');
  });

  test('.mts handlers in a subfolder, and export named handler', async () => {
    const spec = await fnFolder(
      'sub',
      {
        'src/main.mts':
          'export async function handler(e: number): Promise<number> { return e * 2; }',
      },
      'src/main.mts',
    );
    const built = await buildHandler(spec, root);
    assert.equal(built.build!.handler, 'main.mjs');
    const mod = await import(pathToFileURL(path.join(built.build!.dir, 'main.mjs')).href);
    assert.equal(await mod.handler(21), 42);
    const map = JSON.parse(await readFile(path.join(built.build!.dir, 'main.mjs.map'), 'utf8'));
    assert.deepEqual(
      map.sources,
      ['src/main.mts'],
      'relative to the folder, whatever the handler path',
    );
  });

  test('a syntax error is function_invalid with the compiler message at folder/file:line:column', async () => {
    const e = await buildError(
      await fnFolder('broken', {
        'index.ts': 'export default async () => {\n  const x: = 1;\n  return x;\n};\n',
      }),
    );
    assert.match(e.message, /^TypeScript build failed: broken\/index\.ts:2:12: Unexpected "="$/);
    assert.deepEqual(e.details, { file: 'index.ts', line: 2, column: 12 });
  });

  test('an error in an imported module names that module', async () => {
    const e = await buildError(
      await fnFolder('deep', {
        'index.ts': "import { f } from './util.ts';\nexport default f;",
        'util.ts': 'export const f = (a: number => a;',
      }),
    );
    assert.match(e.message, /deep\/util\.ts:1:\d+: /);
  });

  test('a missing relative import is reported where it is imported', async () => {
    const e = await buildError(
      await fnFolder('missing', {
        'index.ts': "import { f } from './nope.ts';\nexport default f;",
      }),
    );
    assert.match(e.message, /missing\/index\.ts:1:19: Could not resolve "\.\/nope\.ts"/);
  });

  test('several errors are listed one per line', async () => {
    const e = await buildError(
      await fnFolder('many', {
        'index.ts':
          "import a from './a.ts';\nimport b from './b.ts';\nexport default () => [a, b];",
      }),
    );
    assert.match(
      e.message,
      /^TypeScript build failed \(2 errors\):\nmany\/index\.ts:1:\d+: .*\nmany\/index\.ts:2:\d+: /,
    );
  });

  test('a module that exports no handler is refused at build time', async () => {
    const e = await buildError(
      await fnFolder('noexport', { 'index.ts': 'export const other = 1;' }),
    );
    assert.match(
      e.message,
      /noexport\/index\.ts exports no function: expected a default export or an export named 'handler'/,
    );
  });

  test('imports may not reach outside the function folder', async () => {
    await writeFile(path.join(tmp, 'secret.json'), '{"password":"hunter2"}');
    const e = await buildError(
      await fnFolder('escape', {
        'index.ts': "import s from '../secret.json';\nexport default () => s;",
      }),
    );
    assert.match(e.message, /'\.\.\/secret\.json' is outside the function folder/);
    assert.doesNotMatch(e.message, /hunter2/);
  });

  test('packages stay imports, resolved through a link to the folder node_modules', async () => {
    const spec = await fnFolder('withdeps', {
      'index.ts':
        "import { shout } from 'shouty';\nexport default (e: string): string => shout(e);",
      'node_modules/shouty/package.json':
        '{"name":"shouty","type":"module","exports":"./index.js"}',
      'node_modules/shouty/index.js': 'export const shout = (s) => s.toUpperCase();',
    });
    const built = await buildHandler(spec, root);
    assert.match(
      await readFile(path.join(built.build!.dir, 'index.mjs'), 'utf8'),
      /from "shouty"/,
      'not bundled',
    );
    assert.equal(
      await readlink(path.join(built.build!.dir, 'node_modules')),
      '/fn/node_modules',
      'the container path',
    );
    const without = await buildHandler(
      await fnFolder('nodeps', { 'index.ts': 'export default () => 1;' }),
      root,
    );
    assert.deepEqual((await readdir(without.build!.dir)).sort(), ['index.mjs', 'index.mjs.map']);
  });

  test("the folder's own tsconfig.json applies, one above the folder does not", async () => {
    // verbatimModuleSyntax keeps an import used only for its side effects; by default TypeScript drops it
    const files = {
      'index.ts': "import { y } from './y.ts';\nexport default () => 1;",
      'y.ts': 'export const y = 1;\nconsole.log("loaded y");',
    };
    const verbatim = '{ "compilerOptions": { "verbatimModuleSyntax": true } }';
    const keepsImport = async (spec: FunctionSpec) => {
      const out = (await buildHandler(spec, root)).build!;
      return /loaded y/.test(await readFile(path.join(out.dir, out.handler), 'utf8'));
    };
    await writeFile(path.join(tmp, 'tsconfig.json'), verbatim);
    try {
      assert.equal(
        await keepsImport(await fnFolder('outside-tsconfig', files)),
        false,
        'the tsconfig above is ignored',
      );
      assert.equal(
        await keepsImport(await fnFolder('own-tsconfig', { ...files, 'tsconfig.json': verbatim })),
        true,
        'its own is used',
      );
    } finally {
      await rm(path.join(tmp, 'tsconfig.json'));
    }
  });

  test('removeBuild removes a build and leaves JavaScript folders alone', async () => {
    const spec = await fnFolder('removed', TYPED);
    const built = await buildHandler(spec, root);
    await removeBuild(built);
    await assert.rejects(stat(built.build!.dir), { code: 'ENOENT' });
    await removeBuild(built); // twice is fine
    const js = await fnFolder('js', { 'index.js': 'export default () => 1' }, 'index.js');
    await removeBuild(js);
    assert.ok(await stat(js.dir), 'the function folder is untouched');
  });
});
