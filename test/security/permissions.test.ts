// Hostile probes on permissions.fs, against a real gateway and the real engine: paths allowed at
// deploy are swapped for links (to /etc, to a sibling, above or below them, the root itself) before a
// later container start, which must refuse with 502 sandbox_error naming the path and mount nothing;
// globs that would mount more than they name, and `..` tricks, are refused or mount only what was checked.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { scopeOf } from '../../gateway/gateway.ts';
import { isWithin } from '../../runtime/permissions.ts';
import { LABEL } from '../../runtime/sandbox.ts';
import {
  containersOf,
  errorOf,
  eventually,
  fn,
  startHarness,
  type Harness,
} from '../helpers/harness.ts';

/** Lists every allowed directory the runtime mounted (TITAN_FS_ALLOW), recursively. */
const LISTER = `
import { readdirSync } from 'node:fs';
export default () => Object.fromEntries(JSON.parse(process.env.TITAN_FS_ALLOW).map((p) => [p, readdirSync(p, { recursive: true }).sort()]));
`;

const manifest = (allow: string[], { deny = [] as string[], min = 0 } = {}) =>
  `pool: { min: ${min}, max: 1 }\npermissions:\n  fs:\n    allow: ${JSON.stringify(allow)}\n    deny: ${JSON.stringify(deny)}\n`;

/** The message of a start refused by verifyMounts (runtime/permissions.ts) over these problems. */
const refusal = (...problems: string[]) =>
  `no container started: a mounted path changed since deploy: ${problems.join('; ')}. Restore it, or redeploy the function to check its permissions again`;

describe('security: permissions.fs is checked at every container start', () => {
  let h: Harness;
  let base: string; // <tmp>: root/, root2/, outside/
  let root: string;
  let root2: string;
  let outside: string;
  const docker = new Docker();

  /** Host paths bind-mounted into any container of this gateway's scope, stopped ones included. */
  const mountedSources = async (): Promise<string[]> => {
    const list = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.scope}=${scopeOf(h.config.stateDir)}`] },
    });
    const inspected = await Promise.all(
      list.map((c) =>
        docker
          .getContainer(c.Id)
          .inspect()
          .catch(() => undefined),
      ),
    );
    return inspected.flatMap((i) => (i?.Mounts ?? []).map((m) => m.Source));
  };
  const assertNothingMountedFrom = async (...hostDirs: string[]) => {
    const sources = await mountedSources();
    for (const dir of hostDirs)
      assert.deepEqual(
        sources.filter((s) => isWithin(s, dir)),
        [],
        `no container mounts anything from ${dir}`,
      );
  };
  /** Kills a function's containers through the engine, as a crash would, and waits for the pool to let them go. */
  const killAll = async (name: string) => {
    for (const c of await containersOf(h.config, name))
      await docker
        .getContainer(c.id)
        .kill()
        .catch(() => {});
    assert.ok(
      await eventually(async () => (await containersOf(h.config, name)).length === 0),
      `${name}'s killed containers are removed`,
    );
  };
  const swapForLink = async (path: string, target: string) => {
    await rename(path, `${path}.moved`);
    await symlink(target, path);
  };
  const restore = async (path: string) => {
    await rm(path);
    await rename(`${path}.moved`, path);
  };
  const listing = async (name: string) => {
    const res = await h.invoke(name, {});
    assert.equal(res.status, 200, await res.clone().text());
    return res.json();
  };
  const refused = async (name: string, ...problems: string[]) => {
    const res = await h.invoke(name, {});
    assert.equal(res.status, 502);
    const err = await errorOf(res);
    assert.equal(err.code, 'sandbox_error');
    assert.equal(err.message, refusal(...problems));
    assert.deepEqual(await containersOf(h.config, name), [], `no container of ${name} is running`);
  };

  before(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'tt-perm-')));
    root = join(base, 'root');
    root2 = join(base, 'root2');
    outside = join(base, 'outside');
    const files = [
      'root/p1/inbox/a.txt',
      'root/p3/inbox/a.txt',
      'root/p3/other/b.txt',
      'root/p4/inbox/a.txt',
      'root/p4/inbox/secret/key.txt',
      'root/p5/parent/child/a.txt',
      'root/p6/inbox/a.pdf',
      'root/p7/inbox/a.txt',
      'root/p9/inbox/a.txt',
      'root2/inbox/a.txt',
      'outside/inbox/stolen.txt',
      'outside/parent/child/stolen.txt',
    ];
    for (const f of files) {
      await mkdir(join(base, f, '..'), { recursive: true });
      await writeFile(join(base, f), f);
    }
    await symlink('/etc', join(root, 'p7/lnk'));
    h = await startHarness(
      {
        swap_etc: fn(LISTER, manifest([`${root}/p1/inbox/**`], { min: 1 })),
        swap_sibling: fn(LISTER, manifest([`${root}/p3/inbox/**`])),
        deny_link: fn(
          LISTER,
          manifest([`${root}/p4/inbox/**`], { deny: [`${root}/p4/inbox/secret/**`] }),
        ),
        parent_link: fn(LISTER, manifest([`${root}/p5/parent/child`])),
        glob_pdf: fn(LISTER, manifest([`${root}/p6/inbox/*.pdf`])),
        dotdot_out: fn(LISTER, manifest([`${root}/p7/../../outside/**`])),
        dotdot_link: fn(LISTER, manifest([`${root}/p7/lnk/../inbox/**`])),
        root_swap: fn(LISTER, manifest([`${root2}/inbox/**`])),
        scale_up: fn(LISTER, manifest([`${root}/p9/inbox/**`])),
      },
      { sandbox: { fs_roots: [root, root2] } },
    );
  });
  after(async () => {
    try {
      if (h) {
        const health = await h.request('/healthz');
        assert.equal(health.status, 200, 'the gateway is healthy after the probes');
        await h.close();
        assert.deepEqual(await containersOf(h.config), [], 'close removes every container');
      }
    } finally {
      if (base) await rm(base, { recursive: true, force: true });
    }
  });

  test('an allowed directory swapped for a link to /etc after deploy: the replacement of a killed container is refused', async () => {
    const inbox = join(root, 'p1/inbox');
    assert.deepEqual(await listing('swap_etc'), { [inbox]: ['a.txt'] });
    await swapForLink(inbox, '/etc');
    await killAll('swap_etc');
    await refused(
      'swap_etc',
      `permissions.fs.allow: '${inbox}' is now a symlink to '/etc' (it was a directory at deploy)`,
    );
    await assertNothingMountedFrom('/etc');
  });

  test('once the directory is restored, starts work again', async () => {
    const inbox = join(root, 'p1/inbox');
    await restore(inbox);
    assert.deepEqual(await listing('swap_etc'), { [inbox]: ['a.txt'] });
    assert.ok((await mountedSources()).includes(inbox), 'the restored directory is mounted');
    await assertNothingMountedFrom('/etc');
  });

  test('an allowed directory swapped for a link to another directory in the same root is refused too', async () => {
    // Deploy granted `inbox`, not whatever it points at later: `other` may be another function's.
    await swapForLink(join(root, 'p3/inbox'), join(root, 'p3/other'));
    await refused(
      'swap_sibling',
      `permissions.fs.allow: '${root}/p3/inbox' is now a symlink to '${root}/p3/other' (it was a directory at deploy)`,
    );
    await assertNothingMountedFrom(join(root, 'p3'));
  });

  test('a denied directory hidden at the first start, then swapped for a link to /etc, is refused at the next', async () => {
    const inbox = join(root, 'p4/inbox');
    assert.deepEqual(
      await listing('deny_link'),
      { [inbox]: ['a.txt', 'secret'] },
      'secret/key.txt is hidden',
    );
    await swapForLink(join(inbox, 'secret'), '/etc');
    await killAll('deny_link');
    await refused(
      'deny_link',
      `permissions.fs.deny: '${inbox}/secret' is now a symlink to '/etc' (it was a directory at deploy)`,
    );
  });

  test('a parent of the allowed directory swapped for a link out of the root is refused', async () => {
    const parent = join(root, 'p5/parent');
    await swapForLink(parent, join(outside, 'parent'));
    await refused(
      'parent_link',
      `permissions.fs.allow: '${parent}/child' is now reached through a symlink: '${parent}' links to '${outside}/parent', so it resolves to '${outside}/parent/child'`,
    );
    await assertNothingMountedFrom(outside);
  });

  test('a glob that would mount more than it names is refused at deploy, saying how to write it', async () => {
    const inbox = join(root, 'p6/inbox');
    const why = `glob_pdf/function.yaml: permissions.fs.allow: "${inbox}/*.pdf" would mount all of '${inbox}'; mounts are whole directories: write '${inbox}' or '${inbox}/**'`;
    const info = (await (await h.request('/functions/glob_pdf')).json()) as {
      status: string;
      error: string;
    };
    assert.deepEqual([info.status, info.error], ['invalid', why]);
    const res = await h.invoke('glob_pdf', {});
    assert.equal(res.status, 409);
    const err = await errorOf(res);
    assert.deepEqual(
      [err.code, err.message],
      ['function_invalid', `function 'glob_pdf' is invalid: ${why}`],
    );
  });

  test('`..` cannot climb out of a root, and `link/..` mounts the directory checked, not where the link leads', async () => {
    const entry = `${root}/p7/../../outside/**`;
    const res = await h.invoke('dotdot_out', {});
    assert.equal(res.status, 409);
    const err = await errorOf(res);
    assert.equal(err.code, 'function_invalid');
    assert.equal(
      err.message,
      `function 'dotdot_out' is invalid: dotdot_out/function.yaml: permissions.fs.allow: '${entry}' (resolves to '${outside}') is outside the permitted roots (${root}, ${root2}); add a root to sandbox.fs_roots in the runtime config`,
    );
    // The kernel would read `lnk/..` as /etc/.. = /; the entry is resolved by name first, and that is what is mounted.
    assert.deepEqual(await listing('dotdot_link'), { [join(root, 'p7/inbox')]: ['a.txt'] });
    await assertNothingMountedFrom('/etc', outside);
  });

  test('a root swapped for a link after a container started: the next start is refused, naming the root; restored, it works', async () => {
    assert.deepEqual(await listing('root_swap'), { [join(root2, 'inbox')]: ['a.txt'] });
    await swapForLink(root2, outside);
    await killAll('root_swap');
    await refused(
      'root_swap',
      `sandbox.fs_roots: '${root2}' is now a symlink to '${outside}' (it was a directory at deploy)`,
    );
    await assertNothingMountedFrom(outside);
    await restore(root2);
    assert.deepEqual(await listing('root_swap'), { [join(root2, 'inbox')]: ['a.txt'] });
  });

  test('raising pool.min through the API after a swap starts nothing: each start is refused and counted', async () => {
    const failures = async () => {
      const text = await (await h.request('/metrics')).text();
      return Number(
        text.match(/^titan_container_start_failures_total\{function="scale_up"\} (\d+)$/m)?.[1] ??
          0,
      );
    };
    const inbox = join(root, 'p9/inbox');
    await swapForLink(inbox, '/etc');
    const put = await h.request('/functions/scale_up/pool', {
      method: 'PUT',
      body: JSON.stringify({ min: 1 }),
    });
    assert.equal(put.status, 200, await put.clone().text());
    assert.ok(
      await eventually(async () => (await failures()) >= 1),
      'the prewarm start was refused and counted',
    );
    assert.deepEqual(await containersOf(h.config, 'scale_up'), []);
    await refused(
      'scale_up',
      `permissions.fs.allow: '${inbox}' is now a symlink to '/etc' (it was a directory at deploy)`,
    );
    await assertNothingMountedFrom('/etc');
  });
});
