// Unit tests for runtime/manifest.ts: schema, defaults from the runtime config, and folder loading.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultConfig, type RuntimeConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';
import { closestKey, editDistance } from '../../runtime/schema-util.ts';
import {
  isValidFunctionName,
  loadFunctionFolder,
  NAME_PATTERN,
  resolveManifest,
} from '../../runtime/manifest.ts';

let tmp: string;
let config: RuntimeConfig;
before(async () => {
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'titan-manifest-')));
  config = defaultConfig(tmp);
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Creates <tmp>/<name> holding `files` (path → content) and returns its path. */
async function folder(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(tmp, name);
  await mkdir(dir, { recursive: true });
  for (const [f, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await writeFile(path.join(dir, f), content);
  }
  return dir;
}

/** Runs fn, asserts it throws invalid_manifest, returns the message. */
async function manifestError(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof TitanError, `expected TitanError, got ${e}`);
    assert.equal(e.code, 'invalid_manifest');
    return e.message;
  }
  assert.fail('expected invalid_manifest');
}

const resolve = (raw: unknown, over: Partial<Parameters<typeof resolveManifest>[1]> = {}) =>
  resolveManifest(raw, { dir: '/srv/fns/hello', folderName: 'hello', config, ...over });

describe('function names', () => {
  test('NAME_PATTERN and isValidFunctionName', () => {
    for (const ok of ['a', 'hello', 'hello-world_2', 'a'.repeat(63)])
      assert.ok(isValidFunctionName(ok), ok);
    for (const bad of ['', 'Hello', '1abc', '-a', '../x', 'a/b', 'a.b', 'a'.repeat(64), 'héllo']) {
      assert.equal(isValidFunctionName(bad), false, bad);
    }
    assert.equal(isValidFunctionName(42), false);
    assert.equal(NAME_PATTERN.source, '^[a-z][a-z0-9_-]{0,62}$');
  });
});

describe('resolveManifest', () => {
  test('an empty manifest gets every default from the config', () => {
    const { manifestHash, ...spec } = resolve(null);
    assert.match(manifestHash, /^[0-9a-f]{16}$/);
    assert.notEqual(
      resolve({ pool: { min: 0 } }).manifestHash,
      manifestHash,
      'another manifest, another hash',
    );
    assert.deepEqual(spec, {
      name: 'hello',
      version: '0.0.0',
      runtime: 'node',
      dir: '/srv/fns/hello',
      handler: 'index.js',
      image: 'node:20-bookworm-slim',
      isolation: 'container',
      triggers: [],
      cpu: 0.05,
      cpuLimit: 1,
      memoryBytes: 128 * 1024 * 1024,
      timeoutMs: 60000,
      pool: { min: 1, max: 4, concurrency: 1, idleSec: 300 },
      fs: { mounts: [], masks: [] },
      env: {},
      secrets: [],
      config: {},
      auth: 'none',
    });
  });

  test('every key is honoured and converted', () => {
    const spec = resolve({
      name: 'resize',
      version: 2,
      runtime: 'node',
      handler: './src/main.mjs',
      image: 'node:22-slim',
      description: 'resizes images',
      triggers: [{ topic: 'uploads', event_type: 'created' }, { topic: 'all' }],
      resources: { cpu: '250m', memory: '1Gi' },
      timeout_sec: 2.5,
      pool: { min: 0, max: 10, concurrency: 4, idle_sec: 0 },
      env: { MODE: 'fast', RETRIES: 3, DEBUG: false },
    });
    assert.equal(spec.name, 'resize');
    assert.equal(spec.version, '2');
    assert.equal(spec.handler, 'src/main.mjs');
    assert.equal(spec.image, 'node:22-slim');
    assert.deepEqual(spec.triggers, [{ topic: 'uploads', eventType: 'created' }, { topic: 'all' }]);
    assert.equal(spec.cpu, 0.25);
    assert.equal(spec.memoryBytes, 1024 ** 3);
    assert.equal(spec.timeoutMs, 2500);
    assert.deepEqual(spec.pool, { min: 0, max: 10, concurrency: 4, idleSec: 0 });
    assert.deepEqual(spec.env, { MODE: 'fast', RETRIES: '3', DEBUG: 'false' });
  });

  test('config: any JSON object, kept as it is, at most 64 KiB', async () => {
    const config = { commands: ['ls', 'wc'], limits: { max_args: 8 }, verbose: true };
    assert.deepEqual(resolve({ config }).config, config);
    assert.match(
      await manifestError(() => resolve({ config: ['ls'] })),
      /function\.yaml: config: /,
    );
    assert.match(await manifestError(() => resolve({ config: 'ls' })), /function\.yaml: config: /);
    const big = { blob: 'x'.repeat(64 * 1024) };
    assert.match(
      await manifestError(() => resolve({ config: big })),
      /config: must be at most 65536 bytes as JSON \(got 65547\)/,
    );
  });

  test('a partial pool is merged with the config', () => {
    assert.deepEqual(resolve({ pool: { max: 2 } }).pool, {
      min: 1,
      max: 2,
      concurrency: 1,
      idleSec: 300,
    });
  });

  test('an unknown key is rejected, naming it and the allowed keys', async () => {
    const msg = await manifestError(() => resolve({ nmae: 'x' }));
    assert.match(
      msg,
      /^function\.yaml: nmae: unknown key \(allowed keys: name, version, runtime, handler, image, .*env, secrets, .*config\); did you mean 'name'\?$/,
    );
    const nested = await manifestError(() => resolve({ pool: { maximum: 3 } }));
    assert.match(
      nested,
      /function\.yaml: pool\.maximum: unknown key \(allowed keys: min, max, concurrency, idle_sec\); did you mean 'max'\?$/,
    );
  });

  test('a misspelt key gets a did-you-mean; one like no allowed key gets none', async () => {
    assert.match(
      await manifestError(() => resolve({ timeout: 5 })),
      /timeout: unknown key \(allowed keys: .*\); did you mean 'timeout_sec'\?$/,
    );
    assert.match(
      await manifestError(() => resolve({ Secrets: ['x'] })),
      /Secrets: unknown key .*; did you mean 'secrets'\?$/,
    );
    assert.match(
      await manifestError(() => resolve({ resources: { memroy: '64Mi' } })),
      /resources\.memroy: unknown key .*; did you mean 'memory'\?$/,
    );
    const far = await manifestError(() => resolve({ zzzzzz: 1 }));
    assert.match(far, /zzzzzz: unknown key \(allowed keys: [^)]*\)$/);
    assert.doesNotMatch(far, /did you mean/);
  });

  test('secrets: names only, each valid and listed once; absent means none', async () => {
    assert.deepEqual(resolve({}).secrets, []);
    assert.deepEqual(resolve({ secrets: ['api-key', 'db.pass_2'] }).secrets, [
      'api-key',
      'db.pass_2',
    ]);
    for (const bad of [
      '../x',
      '/etc/passwd',
      'a/b',
      'a..b',
      '.hidden',
      'UPPER',
      'x'.repeat(64),
      '',
    ]) {
      assert.match(
        await manifestError(() => resolve({ secrets: [bad] })),
        /secrets\[0\]: a secret name must be/,
        bad,
      );
    }
    assert.match(
      await manifestError(() => resolve({ secrets: ['a', 'a'] })),
      /secrets: must not name a secret twice/,
    );
    assert.match(await manifestError(() => resolve({ secrets: 'a' })), /secrets: must be a list/);
  });

  test('editDistance counts inserts, deletes, replacements and swaps; closestKey picks the nearest', () => {
    assert.equal(editDistance('timeout', 'timeout_sec'), 4);
    assert.equal(editDistance('nmae', 'name'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(closestKey('concurency', ['min', 'max', 'concurrency']), 'concurrency');
    assert.equal(closestKey('mx', ['min', 'max']), 'max');
    assert.equal(closestKey('x', ['min', 'max']), undefined);
  });

  test('name: ../x is rejected', async () => {
    const msg = await manifestError(() => resolve({ name: '../x' }));
    assert.match(msg, /function\.yaml: name: must be a lowercase letter .* \(got "\.\.\/x"\)/);
  });

  test('without a name, the folder name must be valid', async () => {
    const msg = await manifestError(() => resolve({}, { folderName: 'My Function' }));
    assert.match(
      msg,
      /name: not set, and the folder name 'My Function' is not a valid function name/,
    );
    assert.equal(resolve({ name: 'ok' }, { folderName: 'My Function' }).name, 'ok');
  });

  test('every problem is listed with its key path', async () => {
    const msg = await manifestError(() =>
      resolve({
        version: '',
        runtime: 'ruby',
        handler: '../escape.js',
        triggers: [{ event_type: 'x' }],
        resources: { cpu: '0', memory: '8Mi' },
        timeout_sec: 0,
        pool: { max: 0, concurrency: 1001, idle_sec: -1 },
        env: { TITAN_SECRET: 'x', '1BAD': 'y', OBJ: { a: 1 } },
      }),
    );
    for (const expected of [
      'function.yaml: version: must not be empty',
      'function.yaml: runtime: must be one of "node", "python" (got "ruby")',
      "function.yaml: handler: must not contain '..'",
      'function.yaml: triggers[0].topic: is required',
      "function.yaml: resources.cpu: invalid CPU quantity '0'",
      'function.yaml: resources.memory: must be at least 16Mi (got "8Mi")',
      'function.yaml: timeout_sec: must be > 0 (got 0)',
      'function.yaml: pool.max: must be >= 1 (got 0)',
      'function.yaml: pool.concurrency: must be <= 1000 (got 1001)',
      'function.yaml: pool.idle_sec: must be >= 0 (got -1)',
      'function.yaml: env.TITAN_SECRET: env names starting with TITAN_ are reserved',
      'function.yaml: env.1BAD: env names must be letters, digits and _',
      'function.yaml: env.OBJ: must be a string, number or boolean',
    ]) {
      assert.ok(msg.includes(expected), `missing "${expected}" in:\n${msg}`);
    }
  });

  test('handler must be a relative .js/.mjs/.cjs/.ts/.mts path', async () => {
    for (const ok of ['index.cjs', 'lib/x.mjs', './a.js', 'index.ts', 'src/h.mts'])
      assert.ok(resolve({ handler: ok }).handler);
    assert.match(
      await manifestError(() => resolve({ handler: '/etc/x.js' })),
      /handler: must be a path relative to the function folder/,
    );
    assert.match(
      await manifestError(() => resolve({ handler: 'index.tsx' })),
      /handler: must name a \.js, \.mjs, \.cjs, \.ts, \.mts or \.py file/,
    );
    assert.match(
      await manifestError(() => resolve({ handler: 'a\\b.js' })),
      /handler: must be a path relative/,
    );
  });

  test('runtime python: main.py and the python image by default; handlers must suit the runtime', async () => {
    const py = resolve({ runtime: 'python' });
    assert.equal(py.runtime, 'python');
    assert.equal(py.handler, 'main.py');
    assert.equal(py.image, config.sandbox.pythonImage);
    assert.equal(py.image, 'python:3.12-slim');
    assert.equal(
      resolve({ runtime: 'python', handler: 'src/app.py', image: 'my/py:1' }).image,
      'my/py:1',
    );
    assert.equal(resolve({}).handler, 'index.js');
    assert.equal(resolve({}).image, config.sandbox.image);
    assert.match(
      await manifestError(() => resolve({ runtime: 'python', handler: 'index.js' })),
      /handler: runtime python loads \.py files \(got 'index\.js'; set runtime: node for it\)/,
    );
    assert.match(
      await manifestError(() => resolve({ handler: 'main.py' })),
      /handler: runtime node loads \.js, \.mjs, \.cjs, \.ts or \.mts files \(got 'main\.py'; set runtime: python for it\)/,
    );
  });

  test('timeout_sec above 3600 is rejected', async () => {
    assert.match(
      await manifestError(() => resolve({ timeout_sec: 3601 })),
      /timeout_sec: must be <= 3600 \(got 3601\)/,
    );
  });

  test('pool.min above pool.max is rejected, saying where max came from', async () => {
    const msg = await manifestError(() => resolve({ pool: { min: 5 } }));
    assert.match(
      msg,
      /pool\.min: must be <= pool\.max \(got min 5, max 4 from the runtime config\)/,
    );
  });

  test('a top-level list is rejected', async () => {
    assert.match(
      await manifestError(() => resolve(['a'])),
      /function\.yaml: must be a mapping of keys \(got a list\)/,
    );
  });

  test('permissions resolve against config roots; their errors become invalid_manifest', async () => {
    const dir = await folder('perm-fn', { 'data/in/a.txt': 'x' });
    const withRoot = { ...config, sandbox: { ...config.sandbox, fsRoots: [dir] } };
    const spec = resolve(
      // A glob narrower than a directory is refused now (it would mount the whole directory): `dir/**`.
      { permissions: { fs: { allow: ['./data/**'], deny: ['./data/in'] } } },
      { dir, config: withRoot, cwd: dir },
    );
    assert.deepEqual(spec.fs, {
      mounts: [
        { hostPath: `${dir}/data`, containerPath: `${dir}/data`, root: dir, kind: 'directory' },
      ],
      masks: [`${dir}/data/in`],
    });

    const msg = await manifestError(() =>
      resolve({ permissions: { fs: { allow: ['/etc'] } } }, { dir, config: withRoot }),
    );
    assert.match(
      msg,
      /function\.yaml: permissions\.fs\.allow: '\/etc' is outside the permitted roots/,
    );
    const unknown = await manifestError(() => resolve({ permissions: { fs: { read: [] } } }));
    assert.match(unknown, /permissions\.fs\.read: unknown key \(allowed keys: allow, deny\)/);
  });
});

describe('loadFunctionFolder', () => {
  test('loads function.yaml and returns the resolved spec', async () => {
    const dir = await folder('greet', {
      'function.yaml': 'version: 1.2.0\nhandler: main.js\ntimeout_sec: 5\n',
      'main.js': '',
    });
    const spec = await loadFunctionFolder(dir, config);
    assert.equal(spec.name, 'greet');
    assert.equal(spec.dir, dir);
    assert.equal(spec.version, '1.2.0');
    assert.equal(spec.handler, 'main.js');
    assert.equal(spec.timeoutMs, 5000);
  });

  test('plugin.yaml alone is accepted', async () => {
    const dir = await folder('plug', { 'plugin.yaml': 'name: plugged\n', 'index.js': '' });
    assert.equal((await loadFunctionFolder(dir, config)).name, 'plugged');
  });

  test('function.yaml and plugin.yaml together are rejected, naming both', async () => {
    const dir = await folder('both', { 'function.yaml': '', 'plugin.yaml': '', 'index.js': '' });
    const msg = await manifestError(() => loadFunctionFolder(dir, config));
    assert.match(msg, /both function\.yaml and plugin\.yaml exist/);
  });

  test('a folder without a manifest, or no folder at all, is an error', async () => {
    const dir = await folder('bare', { 'index.js': '' });
    assert.match(
      await manifestError(() => loadFunctionFolder(dir, config)),
      /no function\.yaml \(or plugin\.yaml\)/,
    );
    assert.match(
      await manifestError(() => loadFunctionFolder(path.join(tmp, 'absent'), config)),
      /folder not found/,
    );
  });

  test('bad YAML reports the file, line and column', async () => {
    const dir = await folder('badyaml', {
      'function.yaml': 'name: x\npool:\n  max: [1, 2\n',
      'index.js': '',
    });
    const msg = await manifestError(() => loadFunctionFolder(dir, config));
    assert.match(msg, /badyaml\/function\.yaml: line \d+, column \d+: /);
  });

  test('schema problems name the file with its folder', async () => {
    const dir = await folder('badpool', { 'function.yaml': 'pool:\n  max: 0\n', 'index.js': '' });
    const msg = await manifestError(() => loadFunctionFolder(dir, config));
    assert.equal(msg, 'badpool/function.yaml: pool.max: must be >= 1 (got 0)');
  });

  test('the handler must exist and be a regular file', async () => {
    const missing = await folder('nohandler', { 'function.yaml': '' });
    assert.match(
      await manifestError(() => loadFunctionFolder(missing, config)),
      /handler: 'index\.js' does not exist in the function folder/,
    );
    const isDir = await folder('dirhandler', {
      'function.yaml': 'handler: lib.js\n',
      'lib.js/x': '',
    });
    assert.match(
      await manifestError(() => loadFunctionFolder(isDir, config)),
      /handler: 'lib\.js' is not a regular file/,
    );
  });

  test('a handler symlinked from outside the folder is rejected; one inside is fine', async () => {
    await writeFile(path.join(tmp, 'outside.js'), '');
    const dir = await folder('linked', { 'function.yaml': '', 'real.js': '' });
    await symlink(path.join(tmp, 'outside.js'), path.join(dir, 'index.js'));
    assert.match(
      await manifestError(() => loadFunctionFolder(dir, config)),
      /handler: 'index\.js' resolves to '.*outside\.js', outside the function folder/,
    );

    const ok = await folder('linked-ok', { 'function.yaml': '', 'real.js': '' });
    await symlink('real.js', path.join(ok, 'index.js'));
    assert.equal((await loadFunctionFolder(ok, config)).handler, 'index.js');
  });

  test('an invalid folder name is rejected unless the manifest names the function', async () => {
    const bad = await folder('Bad Name', { 'function.yaml': '', 'index.js': '' });
    assert.match(
      await manifestError(() => loadFunctionFolder(bad, config)),
      /folder name 'Bad Name' is not a valid function name/,
    );
    const named = await folder('Also Bad', { 'function.yaml': 'name: fine\n', 'index.js': '' });
    assert.equal((await loadFunctionFolder(named, config)).name, 'fine');
  });
});

describe('resources.cpu_limit', () => {
  test('is the hard cap, defaults from the config, and may not be below the share', async () => {
    assert.equal(resolve({ resources: { cpu: '250m', cpu_limit: '0.5' } }).cpuLimit, 0.5);
    assert.equal(resolve({}).cpuLimit, 1);
    assert.match(
      await manifestError(() => resolve({ resources: { cpu: '2', cpu_limit: '500m' } })),
      /resources\.cpu_limit: must be >= resources\.cpu/,
    );
  });
});

describe('triggers and the reserved namespace', () => {
  const withTrigger = (topic: string) => ({ triggers: [{ topic }] });

  test("a trigger naming one of the runtime's own streams or keys is invalid, saying why", async () => {
    for (const topic of [
      'titan.results',
      'titan.dlq',
      'titan.q.other',
      'titan.attempts',
      'titan.invocation:0b6f',
      'TITAN.Results',
      'prod:titan.q.other',
    ]) {
      const msg = await manifestError(() => resolve(withTrigger(topic)));
      assert.equal(
        msg,
        `function.yaml: triggers[0].topic: '${topic}' is reserved: names starting with 'titan.' (in any case, also after a ':') are the runtime's own streams and keys (results, dead letters, other functions' queues), which no trigger may read`,
      );
    }
  });

  test('a glob whose fixed part is inside the namespace matches only reserved names: invalid', async () => {
    for (const topic of ['titan.*', 'titan.q.*', 'Titan.?lq', 'titan.q.vic*', 'x:titan.*']) {
      const msg = await manifestError(() => resolve(withTrigger(topic)));
      assert.equal(
        msg,
        `function.yaml: triggers[0].topic: '${topic}' matches only reserved names: names starting with 'titan.' (in any case, also after a ':') are the runtime's own streams and keys, which no trigger may read (a wider glob such as '*' is allowed and never matches them)`,
      );
    }
  });

  test('globs that can also match ordinary topics deploy, and so do topics that merely contain titan', () => {
    for (const topic of [
      '*',
      't*',
      'titan*',
      'titan?q.*',
      '?itan.*',
      'titanic.events',
      'news.titan.launch',
      'orders',
    ]) {
      assert.deepEqual(resolve(withTrigger(topic)).triggers, [{ topic }], topic);
    }
  });

  test('every reserved trigger is listed with its index', async () => {
    const msg = await manifestError(() =>
      resolve({
        triggers: [
          { topic: 'orders' },
          { topic: 'titan.results' },
          { topic: 'titan.*', event_type: 'x' },
        ],
      }),
    );
    assert.match(msg, /\(2 problems\)/);
    assert.match(msg, /triggers\[1\]\.topic: 'titan\.results' is reserved/);
    assert.match(msg, /triggers\[2\]\.topic: 'titan\.\*' matches only reserved names/);
  });
});
