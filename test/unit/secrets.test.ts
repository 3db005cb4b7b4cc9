// SecretStore and SecretRolls on a temporary directory: names, atomic writes and modes, listing
// without values, the digest that decides a roll, per-version copies and what a missing secret says;
// and how `titan events tail` prints an entry.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';
import { resolveManifest } from '../../runtime/manifest.ts';
import { SecretRolls } from '../../runtime/registry/secret-rolls.ts';
import {
  MAX_SECRET_BYTES,
  removeSecretCopies,
  secretNameProblem,
  SecretStore,
} from '../../runtime/secrets.ts';
import { formatEntry } from '../../gateway/cli/events.ts';
import { coldStartRoute } from '../../runtime/stem-cells/cold-start-route.ts';
import {
  containerSpecFor,
  functionEnv,
  functionLimits,
  sandboxLimits,
} from '../../runtime/sandbox.ts';

describe('SecretStore', () => {
  let dir: string;
  let store: SecretStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tt-secrets-'));
    store = new SecretStore(join(dir, 'secrets'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const spec = (secrets: string[]) => ({
    ...resolveManifest(
      { secrets },
      { dir: join(dir, 'fn'), folderName: 'fn', config: defaultConfig(dir) },
    ),
  });

  test('names: a strict pattern, no traversal, no hidden files, at most 63 characters', () => {
    for (const ok of ['a', '0', 'api-key', 'db.pass_2', 'x'.repeat(63)])
      assert.equal(secretNameProblem(ok), undefined, ok);
    for (const bad of [
      '',
      '..',
      '../x',
      'a/b',
      '/abs',
      '.hidden',
      'a..b',
      'A',
      'a b',
      'a\0b',
      'x'.repeat(64),
      '-a',
      '_a',
    ]) {
      assert.match(secretNameProblem(bad)!, /a secret name must be/, JSON.stringify(bad));
    }
    assert.ok(secretNameProblem('y'.repeat(5000))!.length < 300, 'a long name is not echoed whole');
  });

  test('set writes atomically with mode 0600 in a 0700 directory; list gives names and times only', async () => {
    assert.deepEqual(await store.set('api-key', Buffer.from('one')), { created: true });
    assert.deepEqual(await store.set('api-key', Buffer.from('two')), { created: false });
    assert.equal((await stat(store.dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(store.dir, 'api-key'))).mode & 0o777, 0o600);
    assert.equal(await readFile(join(store.dir, 'api-key'), 'utf8'), 'two');
    assert.deepEqual(await readdir(store.dir), ['api-key'], 'no temporary file left behind');
    const listed = await store.list();
    assert.deepEqual(
      listed.map((s) => Object.keys(s).sort()),
      [['name', 'updated_at']],
    );
    assert.equal(listed[0]!.name, 'api-key');
  });

  test('a bad name or an oversized value is refused before anything is written', async () => {
    await assert.rejects(
      store.set('../x', Buffer.from('v')),
      (e) => e instanceof TitanError && e.code === 'invalid_name',
    );
    await assert.rejects(
      store.set('big', Buffer.alloc(MAX_SECRET_BYTES + 1)),
      (e) => e instanceof TitanError && e.code === 'payload_too_large',
    );
    await store.set('exact', Buffer.alloc(MAX_SECRET_BYTES));
    await assert.rejects(
      store.remove('missing'),
      (e) => e instanceof TitanError && e.code === 'not_found',
    );
    await store.remove('exact');
    assert.deepEqual(
      (await store.list()).map((s) => s.name),
      ['api-key'],
    );
  });

  test('the digest changes when a named secret changes, appears or goes, not when another does', async () => {
    const rolls = new SecretRolls(store);
    await rolls.record('fn', ['api-key', 'later']);
    assert.equal(await rolls.changed('fn'), false);
    await store.set('other', Buffer.from('x'));
    assert.equal(await rolls.changed('fn'), false, 'a secret the folder does not name');
    await store.set('api-key', Buffer.from('two'));
    assert.equal(await rolls.changed('fn'), false, 'the same value again');
    await store.set('later', Buffer.from('now set'));
    assert.equal(await rolls.changed('fn'), true, 'a missing secret appeared');
    await rolls.record('fn', ['api-key', 'later']);
    await store.set('api-key', Buffer.from('three'));
    assert.equal(await rolls.changed('fn'), true, 'a value changed');
    await rolls.record('fn', ['api-key', 'later']);
    await store.remove('later');
    assert.equal(await rolls.changed('fn'), true, 'a secret went');
    rolls.forget('fn');
    assert.equal(await rolls.changed('fn'), false);
  });

  test('copyFor: a directory of its own per version, one 0444 copy per named secret; missing ones named, values never', async () => {
    const root = join(dir, 'copies');
    const a = await store.copyFor(spec(['api-key']), root);
    const b = await store.copyFor(spec(['api-key']), root);
    assert.notEqual(a.secretsDir, b.secretsDir);
    assert.equal((await stat(root)).mode & 0o777, 0o700);
    assert.equal((await stat(a.secretsDir!)).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(a.secretsDir!), ['api-key']);
    assert.equal((await stat(join(a.secretsDir!, 'api-key'))).mode & 0o777, 0o444);
    assert.equal(await readFile(join(a.secretsDir!, 'api-key'), 'utf8'), 'three');
    await removeSecretCopies(a);
    assert.deepEqual(await readdir(root), [b.secretsDir!.split('/').at(-1)]);
    const none = spec([]);
    assert.equal(await store.copyFor(none, root), none, 'no secrets: no directory');
    await assert.rejects(store.copyFor(spec(['api-key', 'nope', 'gone']), root), (e) => {
      assert.ok(e instanceof TitanError && e.code === 'function_invalid');
      assert.equal(
        e.message,
        "secrets: 'nope', 'gone' are not set; set them with `titan secret set <name>` (or PUT /secrets/<name>)",
      );
      assert.deepEqual(e.details, { missing_secrets: ['nope', 'gone'] });
      return true;
    });
  });
});

test('a function with secrets: each copy bound read-only at /run/secrets/<name>, nothing in its env, and no stem cell', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tt-secrets-'));
  try {
    const config = defaultConfig(dir);
    const store = new SecretStore(join(dir, 'secrets'));
    await store.set('k1', Buffer.from('value-one-4b1f'));
    const spec = await store.copyFor(
      resolveManifest({ secrets: ['k1'] }, { dir: join(dir, 'fn'), folderName: 'fn', config }),
      join(dir, 'copies'),
    );
    const limits = sandboxLimits(config);
    const c = containerSpecFor(spec, limits, {
      containerName: 'c',
      socketDir: join(dir, 'run'),
      scope: 's',
    });
    assert.deepEqual(
      c.binds.filter((b) => b.containerPath.startsWith('/run/secrets')),
      [
        {
          hostPath: join(spec.secretsDir!, 'k1'),
          containerPath: '/run/secrets/k1',
          readOnly: true,
        },
      ],
    );
    assert.ok(
      !JSON.stringify(functionEnv(spec)).includes('value-one'),
      'no value in the environment',
    );
    assert.ok(!JSON.stringify(c).includes('value-one'), 'no value anywhere in the container spec');
    const route = coldStartRoute(spec, functionLimits(spec, limits), {
      min: 2,
      image: spec.image,
      limits: limits.defaultLimits,
    });
    assert.equal(route.path, 'container');
    assert.match(route.reason, /secrets are mounted into its container at \/run\/secrets/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('formatEntry: one line, the id then the fields, JSON fields parsed', () => {
  assert.equal(
    formatEntry({ id: '1-0', type: 'order_placed', data: '{"n":1}' }),
    '1-0 {"type":"order_placed","data":{"n":1}}\n',
  );
  assert.equal(
    formatEntry({ id: '2-0', function: 'f', status: 'error', error: 'not json' }),
    '2-0 {"function":"f","status":"error","error":"not json"}\n',
  );
});
