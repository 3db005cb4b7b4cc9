// Unit tests for runtime/permissions.ts: fs allow/deny paths to mounts and masks at deploy, and the
// check at every container start that they are still what deploy resolved.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SandboxError } from '../../runtime/errors.ts';
import {
  entryPath,
  FsPermissionError,
  isWithin,
  resolveFsPermissions,
  staticPrefix,
  verifyMounts,
} from '../../runtime/permissions.ts';

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

describe('entryPath', () => {
  test('a plain path or a path ending in /** names a directory; any other glob names none', () => {
    assert.equal(entryPath('./inbox'), './inbox');
    assert.equal(entryPath('./inbox/**'), './inbox');
    assert.equal(entryPath('/data/in/**'), '/data/in');
    assert.equal(entryPath('**'), '.');
    assert.equal(entryPath('/**'), '/');
    for (const glob of [
      './inbox/*.pdf',
      './inbox/**/*.pdf',
      './inbox/*',
      './in?ox',
      './inbox/**/',
      './a/**/b',
      './{a,b}/**',
      './[ab]',
    ]) {
      assert.equal(entryPath(glob), undefined, glob);
    }
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

  test('an allowed directory mounts resolved against cwd, at the same path, with its root and kind', () => {
    const inbox = path.join(root, 'inbox');
    const mounts = [{ hostPath: inbox, containerPath: inbox, root, kind: 'directory' }];
    assert.deepEqual(resolveFsPermissions({ allow: ['./inbox/**'] }, [root], root), {
      mounts,
      masks: [],
    });
    assert.deepEqual(resolveFsPermissions({ allow: ['./inbox'] }, [root], root), {
      mounts,
      masks: [],
    });
  });

  test('the root itself and paths that do not exist yet may be allowed', () => {
    const r = resolveFsPermissions({ allow: [root, `${root}/not-yet/**`] }, [root], '/');
    assert.deepEqual(
      r.mounts.map((m) => m.hostPath),
      [root],
    );
    const r2 = resolveFsPermissions({ allow: [`${root}/not-yet/**`] }, [root], '/');
    assert.deepEqual(
      r2.mounts.map((m) => [m.hostPath, m.kind]),
      [[path.join(root, 'not-yet'), 'missing']],
    );
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
    const [p] = problemsOf(() => resolveFsPermissions({ allow: ['../outside/**'] }, [root], root));
    assert.match(
      p!,
      /'..\/outside\/\*\*' \(resolves to '.*\/outside'\) is outside the permitted roots/,
    );
  });

  test('a symlink inside a root that points outside is rejected', () => {
    const [p] = problemsOf(() => resolveFsPermissions({ allow: ['./link/**'] }, [root], root));
    assert.match(
      p!,
      new RegExp(`'./link/\\*\\*' \\(resolves to '${outside}'\\) is outside the permitted roots`),
    );
    // Also when the path below the link does not exist yet.
    const [q] = problemsOf(() =>
      resolveFsPermissions({ allow: ['./link/later/x.txt'] }, [root], root),
    );
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
    const problems = problemsOf(() =>
      resolveFsPermissions({ allow: ['./in\0box', './a:b'], deny: ['./x:ro'] }, [root], root),
    );
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
    const r = resolveFsPermissions(
      { allow: ['./inbox/**'], deny: ['./inbox/sub/**', './elsewhere'] },
      [root],
      root,
    );
    assert.deepEqual(
      r.mounts.map((m) => m.hostPath),
      [path.join(root, 'inbox')],
    );
    assert.deepEqual(r.masks, [path.join(root, 'inbox/sub')]);
  });

  test('an allow prefix equal to or inside a deny prefix is dropped', () => {
    const r = resolveFsPermissions(
      { allow: ['./inbox/sub/**', './out'], deny: ['./inbox', './out'] },
      [root],
      root,
    );
    assert.deepEqual(r, { mounts: [], masks: [] });
  });

  test('duplicate and nested allow mounts collapse to the outermost; nested masks likewise', () => {
    const r = resolveFsPermissions(
      {
        allow: ['./inbox/sub/**', './inbox/**', './inbox', './out/**'],
        deny: ['./inbox/sub', './inbox/sub/deeper'],
      },
      [root],
      root,
    );
    assert.deepEqual(
      r.mounts.map((m) => m.hostPath),
      [path.join(root, 'inbox'), path.join(root, 'out')],
    );
    assert.deepEqual(r.masks, [path.join(root, 'inbox/sub')]);
  });

  test('roots are compared by real path, so a root given through a symlink still works', async () => {
    const rootLink = path.join(tmp, 'root-link');
    await symlink(root, rootLink);
    const r = resolveFsPermissions({ allow: [`${rootLink}/inbox`] }, [rootLink], '/');
    assert.deepEqual(
      r.mounts.map((m) => m.hostPath),
      [path.join(root, 'inbox')],
    );
  });
});

describe('resolveFsPermissions: entries name whole directories', () => {
  test('an allow glob is refused, saying what it would mount and how to write it', () => {
    const problems = problemsOf(() =>
      resolveFsPermissions(
        { allow: ['./inbox/*.pdf', './inbox/**/*.md', '**/*.txt', '/*'] },
        [root],
        root,
      ),
    );
    assert.deepEqual(problems, [
      `permissions.fs.allow: "./inbox/*.pdf" would mount all of './inbox'; mounts are whole directories: write './inbox' or './inbox/**'`,
      `permissions.fs.allow: "./inbox/**/*.md" would mount all of './inbox'; mounts are whole directories: write './inbox' or './inbox/**'`,
      `permissions.fs.allow: "**/*.txt" would mount all of '.'; mounts are whole directories: write '.' or './**'`,
      `permissions.fs.allow: "/*" would mount all of '/'; mounts are whole directories: write '/' or '/**'`,
    ]);
  });

  test('a deny glob is refused the same way', () => {
    const problems = problemsOf(() =>
      resolveFsPermissions({ allow: ['./inbox/**'], deny: ['./inbox/sub/*.key'] }, [root], root),
    );
    assert.deepEqual(problems, [
      `permissions.fs.deny: "./inbox/sub/*.key" would hide all of './inbox/sub'; deny hides whole directories: write './inbox/sub' or './inbox/sub/**'`,
    ]);
  });

  test('a denied path inside a mount must be an existing directory: the engine cannot create one in a read-only mount', async () => {
    await writeFile(path.join(root, 'inbox/note.txt'), 'x');
    const problems = problemsOf(() =>
      resolveFsPermissions(
        { allow: ['./inbox/**'], deny: ['./inbox/later/**', './inbox/note.txt'] },
        [root],
        root,
      ),
    );
    assert.deepEqual(problems, [
      `permissions.fs.deny: '${root}/inbox/later' is missing inside a mount; deny hides existing directories only`,
      `permissions.fs.deny: '${root}/inbox/note.txt' is a file inside a mount; deny hides existing directories only`,
    ]);
  });

  test('a FIFO cannot be mounted', () => {
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    const [p] = problemsOf(() => resolveFsPermissions({ allow: ['./fifo'] }, [root], root));
    assert.equal(
      p,
      `permissions.fs.allow: './fifo' (resolves to '${root}/fifo') is a socket, FIFO or device; only directories and files can be mounted`,
    );
  });
});

describe('verifyMounts', () => {
  // Each test gets its own layout, as each changes it: <base>/root/{inbox/secret, other}, <base>/outside
  let base: string;
  let r: string;
  const bases: string[] = [];
  const layout = async () => {
    base = await realpath(await mkdtemp(path.join(os.tmpdir(), 'titan-verify-')));
    bases.push(base);
    r = path.join(base, 'root');
    await mkdir(path.join(r, 'inbox/secret'), { recursive: true });
    await mkdir(path.join(r, 'other'));
    await mkdir(path.join(base, 'outside/inbox'), { recursive: true });
  };
  const deployed = () =>
    resolveFsPermissions({ allow: ['./inbox/**', './later/**'], deny: ['./inbox/secret'] }, [r], r);
  /** The problems of a refused start. */
  const refused = async (fs: ReturnType<typeof deployed>): Promise<string[]> => {
    try {
      await verifyMounts(fs);
    } catch (e) {
      assert.ok(e instanceof SandboxError, `expected SandboxError, got ${e}`);
      assert.equal(e.code, 'sandbox_error');
      const problems = (e.details as { problems: string[] }).problems;
      assert.equal(
        e.message,
        `no container started: a mounted path changed since deploy: ${problems.join('; ')}. Restore it, or redeploy the function to check its permissions again`,
      );
      return problems;
    }
    assert.fail('expected verifyMounts to refuse');
  };
  const swapForLink = async (p: string, target: string) => {
    await rename(p, `${p}.moved`);
    await symlink(target, p);
  };
  before(layout);
  after(() => Promise.all(bases.map((b) => rm(b, { recursive: true, force: true }))));

  test('nothing changed, or a path missing at deploy created since as a directory: the start goes ahead', async () => {
    const fs = deployed();
    assert.deepEqual(
      fs.mounts.map((m) => [m.hostPath, m.kind, m.root]),
      [
        [path.join(r, 'inbox'), 'directory', r],
        [path.join(r, 'later'), 'missing', r],
      ],
    );
    await verifyMounts(fs);
    await mkdir(path.join(r, 'later'));
    await verifyMounts(fs);
    await verifyMounts({ mounts: [], masks: [] });
  });

  test('an allowed directory swapped for a link out of the root', async () => {
    await layout();
    const fs = deployed();
    await swapForLink(path.join(r, 'inbox'), '/etc');
    // named once: not again for the denied path below it
    assert.deepEqual(await refused(fs), [
      `permissions.fs.allow: '${r}/inbox' is now a symlink to '/etc' (it was a directory at deploy)`,
    ]);
  });

  test('an allowed directory swapped for a link to another directory in the same root', async () => {
    await layout();
    const fs = deployed();
    await swapForLink(path.join(r, 'inbox'), path.join(r, 'other'));
    assert.equal(
      (await refused(fs))[0],
      `permissions.fs.allow: '${r}/inbox' is now a symlink to '${r}/other' (it was a directory at deploy)`,
    );
  });

  test('a parent of a path missing at deploy swapped for a link: the engine would create the path there', async () => {
    await layout();
    const fs = resolveFsPermissions({ allow: ['./deep/later/**'] }, [r], r);
    await symlink(path.join(base, 'outside'), path.join(r, 'deep'));
    assert.deepEqual(await refused(fs), [
      `permissions.fs.allow: '${r}/deep/later' is now reached through a symlink: '${r}/deep' links to '${base}/outside'`,
    ]);
  });

  test('a parent of an allowed directory swapped for a link: the path resolves elsewhere', async () => {
    await layout();
    const fs = resolveFsPermissions({ allow: ['./inbox/secret/**'] }, [r], r);
    await swapForLink(path.join(r, 'inbox'), path.join(base, 'outside'));
    await mkdir(path.join(base, 'outside/secret'));
    assert.deepEqual(await refused(fs), [
      `permissions.fs.allow: '${r}/inbox/secret' is now reached through a symlink: '${r}/inbox' links to '${base}/outside', so it resolves to '${base}/outside/secret'`,
    ]);
  });

  test('a directory swapped for a file, or removed', async () => {
    await layout();
    const fs = deployed();
    await rm(path.join(r, 'inbox/secret'), { recursive: true });
    await writeFile(path.join(r, 'inbox/secret'), 'x');
    assert.deepEqual(await refused(fs), [
      `permissions.fs.deny: '${r}/inbox/secret' is now a file (it was a directory at deploy)`,
    ]);
    await rm(path.join(r, 'inbox'), { recursive: true });
    assert.deepEqual(await refused(fs), [
      `permissions.fs.allow: '${r}/inbox' no longer exists (it was a directory at deploy)`,
    ]);
  });

  test('a root removed: each mount says whether it existed; one still to be created is fine', async () => {
    await layout();
    const fs = deployed();
    await rm(r, { recursive: true });
    assert.deepEqual(await refused(fs), [
      `permissions.fs.allow: '${r}/inbox' no longer exists (it was a directory at deploy)`,
    ]);
    await verifyMounts(resolveFsPermissions({ allow: ['./later/**'] }, [r], r));
  });

  test('a denied directory swapped for a link, even one inside its mount', async () => {
    await layout();
    const fs = deployed();
    await swapForLink(path.join(r, 'inbox/secret'), path.join(r, 'inbox'));
    assert.deepEqual(await refused(fs), [
      `permissions.fs.deny: '${r}/inbox/secret' is now a symlink to '${r}/inbox' (it was a directory at deploy)`,
    ]);
    await rm(path.join(r, 'inbox/secret'));
    await symlink(path.join(base, 'gone'), path.join(r, 'inbox/secret'));
    assert.deepEqual(await refused(fs), [
      `permissions.fs.deny: '${r}/inbox/secret' is now a symlink to '${base}/gone', which does not exist (it was a directory at deploy)`,
    ]);
  });

  test('a root swapped for a link is named once, not with every path under it', async () => {
    await layout();
    const fs = deployed();
    await swapForLink(r, path.join(base, 'outside'));
    assert.deepEqual(await refused(fs), [
      `sandbox.fs_roots: '${r}' is now a symlink to '${base}/outside' (it was a directory at deploy)`,
    ]);
    // Restored: starts go ahead again.
    await rm(r);
    await rename(`${r}.moved`, r);
    await verifyMounts(fs);
  });
});
