// The container scope of a state directory (runtime/scope.ts): created once and read back after a
// crash, different for a copy of the directory with or without its id, the same for every process
// racing to create it, and a hostile id file refused with invalid_config and left as it was.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { TitanError } from '../../runtime/errors.ts';
import { INSTANCE_ID_FILE, instanceIdOf, scopeOf } from '../../runtime/scope.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('container scope of a state directory', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tt-scope-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('created once, kept in the state directory, read back by the next gateway (after a crash)', async () => {
    const state = join(dir, 'a', 's');
    const first = scopeOf(state);
    assert.match(first, /^[0-9a-f]{12}$/);
    const id = await readFile(join(state, INSTANCE_ID_FILE), 'utf8');
    assert.match(id, /^[0-9a-f]{32}\n$/);
    assert.equal(scopeOf(state), first, 'same directory, same scope');
    assert.equal(await readFile(join(state, INSTANCE_ID_FILE), 'utf8'), id, 'not rewritten');
  });

  test('a copy of a state directory gets a scope of its own, with its id file or without', async () => {
    const state = join(dir, 'b', 's');
    const original = scopeOf(state);
    const withId = join(dir, 'b', 'copy-with-id');
    await cp(state, withId, { recursive: true });
    assert.notEqual(scopeOf(withId), original, 'the path is part of the scope');
    // The same path on another host: that host's directory has no id yet (or its own).
    await rm(state, { recursive: true });
    await cp(withId, state, { recursive: true });
    await rm(join(state, INSTANCE_ID_FILE));
    assert.notEqual(scopeOf(state), original, 'same path without the old id: a new scope');
  });

  test('gateways racing on a fresh directory all read the one id that was written', async () => {
    const state = join(dir, 'race', 's');
    const script = `import { scopeOf } from './runtime/scope.ts'; console.log(scopeOf(${JSON.stringify(state)}));`;
    const outs = await Promise.all(
      Array.from({ length: 6 }, () =>
        run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          cwd: ROOT,
        }),
      ),
    );
    const scopes = new Set(outs.map((o) => o.stdout.trim()));
    assert.equal(scopes.size, 1, `one scope: ${[...scopes].join(', ')}`);
    assert.equal(scopeOf(state), [...scopes][0]);
  });

  describe('a hostile or damaged id file is refused (invalid_config) and left as it was', () => {
    const cases: Array<[string, (file: string) => Promise<void>, RegExp]> = [
      ['garbage', (f) => writeFile(f, 'not an id at all\n'), /32 hexadecimal digits/],
      [
        'a path instead of an id',
        (f) => writeFile(f, '../../../etc/passwd\n'),
        /32 hexadecimal digits/,
      ],
      [
        'a label injection',
        (f) => writeFile(f, `${'a'.repeat(32)}\ntitan.scope=other\n`),
        /32 hexadecimal digits/,
      ],
      ['upper-case hex', (f) => writeFile(f, `${'A'.repeat(32)}\n`), /32 hexadecimal digits/],
      ['too short', (f) => writeFile(f, `${'a'.repeat(31)}\n`), /32 hexadecimal digits/],
      ['too long (1 MB)', (f) => writeFile(f, 'a'.repeat(1 << 20)), /1048576 bytes long/],
      ['empty', (f) => writeFile(f, ''), /32 hexadecimal digits/],
      ['a symlink to another file', (f) => symlink('/etc/hostname', f), /cannot be opened/],
      ['a directory', (f) => mkdir(f), /not a regular file/],
      [
        'a FIFO (would block a reader)',
        (f) => run('mkfifo', [f]).then(() => {}),
        /not a regular file/,
      ],
    ];
    for (const [name, plant, why] of cases) {
      test(name, async () => {
        const state = join(dir, `hostile-${name.replace(/\W+/g, '-')}`);
        await mkdir(state, { recursive: true });
        const file = join(state, INSTANCE_ID_FILE);
        await plant(file);
        const before = await stat(file, { bigint: true }).catch(() => undefined);
        assert.throws(
          () => scopeOf(state),
          (err: unknown) =>
            err instanceof TitanError &&
            err.code === 'invalid_config' &&
            err.message.includes(file) &&
            why.test(err.message),
        );
        assert.throws(() => instanceIdOf(state), TitanError);
        const afterStat = await stat(file, { bigint: true }).catch(() => undefined);
        assert.equal(afterStat?.ino, before?.ino, 'the file is not replaced');
        assert.equal(afterStat?.mtimeNs, before?.mtimeNs, 'nor rewritten');
      });
    }
  });
});
