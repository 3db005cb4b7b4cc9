// Unit tests for runtime/permissions.ts: fs allow/deny globs to mounts and masks.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FsPermissionError, isWithin, resolveFsPermissions, staticPrefix } from '../../runtime/permissions.ts';

// Layout: <tmp>/root/{inbox/sub, out, link -> <tmp>/outside, dangling -> <tmp>/gone}, <tmp>/outside
let tmp: string;
let root: string;
let outside: string;
before(async () => {
  // realpath: on some systems the temp dir itself sits behind a symlink (macOS /var → /private/var)
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'titan-perms-')));
  root = path.join(tmp, 'root');
  outside = path.join(tmp, 'outside');
  await mkdir(path.join(root, 'inbox/sub'), { recursive: true });
  await mkdir(path.join(root, 'out'));
  await mkdir(outside);
  await symlink(outside, path.join(root, 'link'));
  await symlink(path.join(tmp, 'gone'), path.join(root, 'dangling'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FsPermissionError, `expected FsPermissionError, got ${e}`);
    return e.problems;
  }
  assert.fail('expected resolveFsPermissions to throw');
};

describe('staticPrefix', () => {
  test('stops at the first segment with a glob character', () => {
    assert.equal(staticPrefix('./inbox/**/*.pdf'), './inbox');
    assert.equal(staticPrefix('/data/in?/x'), '/data');
    assert.equal(staticPrefix('/data/[ab]/x'), '/data');
    assert.equal(staticPrefix('/data/{a,b}'), '/data');
    assert.equal(staticPrefix('/data/plain'), '/data/plain');
    assert.equal(staticPrefix('**/*.txt'), '.');
    assert.equal(staticPrefix('/*'), '/');
  });
});

describe('isWithin', () => {
  test('compares whole path segments', () => {
    assert.equal(isWithin('/a/b', '/a'), true);
    assert.equal(isWithin('/a', '/a'), true);
    assert.equal(isWithin('/ab', '/a'), false);
    assert.equal(isWithin('/a/..b', '/a'), true);
    assert.equal(isWithin('/', '/a'), false);
  });
});

describe('resolveFsPermissions', () => {
  test('no permissions means no mounts', () => {
    assert.deepEqual(resolveFsPermissions(undefined, [], tmp), { mounts: [], masks: [] });
    assert.deepEqual(resolveFsPermissions({ deny: ['./x'] }, [], tmp), { mounts: [], masks: [] });
  });

  test('an allowed glob mounts its static prefix, resolved against cwd, at the same path', () => {
    const r = resolveFsPermissions({ allow: ['./inbox/**/*.pdf'] }, [root], root);
    const inbox = path.join(root, 'inbox');
    assert.deepEqual(r, { mounts: [{ hostPath: inbox, containerPath: inbox }], masks: [] });
  });

  test('the root itself and paths that do not exist yet may be allowed', () => {
    const r = resolveFsPermissions({ allow: [root, `${root}/not-yet/*.txt`] }, [root], '/');
    assert.deepEqual(r.mounts.map((m) => m.hostPath), [root]);
    const r2 = resolveFsPermissions({ allow: [`${root}/not-yet/*.txt`] }, [root], '/');
    assert.deepEqual(r2.mounts.map((m) => m.hostPath), [path.join(root, 'not-yet')]);
  });

  test('an allow entry outside the roots is rejected, naming the roots and the fix', () => {
    const other = path.join(tmp, 'other-root');
    const [p] = problemsOf(() => resolveFsPermissions({ allow: [outside] }, [root, other], '/'));
    assert.equal(
      p,
      `permissions.fs.allow: '${outside}' is outside the permitted roots (${root}, ${other}); add a root to sandbox.fs_roots in the runtime config`,
    );
  });

  test('.. cannot climb out of a root', () => {
    const [p] = problemsOf(() => resolveFsPermissions({ allow: ['../outside/*'] }, [root], root));
    assert.match(p!, /'..\/outside\/\*' \(resolves to '.*\/outside'\) is outside the permitted roots/);
  });

  test('a symlink inside a root that points outside is rejected', () => {
    const [p] = problemsOf(() => resolveFsPermissions({ allow: ['./link/**'] }, [root], root));
    assert.match(p!, new RegExp(`'./link/\\*\\*' \\(resolves to '${outside}'\\) is outside the permitted roots`));
    // Also when the path below the link does not exist yet.
    const [q] = problemsOf(() => resolveFsPermissions({ allow: ['./link/later/x.txt'] }, [root], root));
    assert.match(q!, new RegExp(`resolves to '${outside}/later/x.txt'`));
  });

  test('a dangling symlink is rejected', () => {
    const [p] = problemsOf(() => resolveFsPermissions({ allow: ['./dangling'] }, [root], root));
    assert.match(p!, /symlink whose target does not exist/);
  });

  test('with no roots configured every allow entry is rejected, saying so', () => {
    const problems = problemsOf(() => resolveFsPermissions({ allow: ['./a', './b'] }, [], root));
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /no fs roots are configured; add a root to sandbox\.fs_roots/);
  });

  test('NUL bytes and colons are rejected', () => {
    const problems = problemsOf(() => resolveFsPermissions({ allow: ['./in\0box', './a:b'], deny: ['./x:ro'] }, [root], root));
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /^permissions\.fs\.allow: .* contains a NUL byte/);
    assert.match(problems[1]!, /^permissions\.fs\.allow: "\.\/a:b" contains ':'/);
    assert.match(problems[2]!, /^permissions\.fs\.deny: "\.\/x:ro" contains ':'/);
  });

  test("mounting over the container's system directories is refused", () => {
    const [p] = problemsOf(() => resolveFsPermissions({ allow: ['/'] }, ['/'], '/'));
    assert.match(p!, /would hide the container's own/);
  });

  test('a deny prefix strictly inside an allowed mount becomes a mask', () => {
    const r = resolveFsPermissions({ allow: ['./inbox/**'], deny: ['./inbox/sub/**', './elsewhere'] }, [root], root);
    assert.deepEqual(r.mounts.map((m) => m.hostPath), [path.join(root, 'inbox')]);
    assert.deepEqual(r.masks, [path.join(root, 'inbox/sub')]);
  });

  test('an allow prefix equal to or inside a deny prefix is dropped', () => {
    const r = resolveFsPermissions({ allow: ['./inbox/sub/*.pdf', './out'], deny: ['./inbox', './out'] }, [root], root);
    assert.deepEqual(r, { mounts: [], masks: [] });
  });

  test('duplicate and nested allow mounts collapse to the outermost; nested masks likewise', () => {
    const r = resolveFsPermissions(
      { allow: ['./inbox/sub/*.txt', './inbox/**', './inbox', './out/*'], deny: ['./inbox/sub', './inbox/sub/deeper'] },
      [root],
      root,
    );
    assert.deepEqual(r.mounts.map((m) => m.hostPath), [path.join(root, 'inbox'), path.join(root, 'out')]);
    assert.deepEqual(r.masks, [path.join(root, 'inbox/sub')]);
  });

  test('roots are compared by real path, so a root given through a symlink still works', async () => {
    const rootLink = path.join(tmp, 'root-link');
    await symlink(root, rootLink);
    const r = resolveFsPermissions({ allow: [`${rootLink}/inbox`] }, [rootLink], '/');
    assert.deepEqual(r.mounts.map((m) => m.hostPath), [path.join(root, 'inbox')]);
  });
});
