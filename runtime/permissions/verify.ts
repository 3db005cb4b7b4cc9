// The check at every container start that mounted paths are still what deploy resolved.
import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { SandboxError } from '../errors.ts';
import type { MountKind } from '../spec.ts';
import type { ResolvedFs } from '../permissions.ts';
import { isWithin, KIND_SHOWN, kindOf } from './paths.ts';

/** The first path on the way from `/` to `p` that is a symlink, if any. */
async function firstLink(p: string): Promise<string | undefined> {
  let at = path.parse(p).root;
  for (const part of path.relative(at, p).split(path.sep).filter(Boolean)) {
    at = path.join(at, part);
    const st = await lstat(at).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink()) return at;
  }
  return undefined;
}

/**
 * What changed about `p` since deploy saw it real (no link on its way) and of kind `was`, or undefined
 * if nothing did. A path missing at deploy may since have become a directory (the engine would create
 * one itself); its existing ancestors must still be real, as the engine follows links when it creates
 * what is missing, as it does when it mounts. `missingOk`: a missing path is not a change.
 */
async function changeOf(
  p: string,
  was: MountKind,
  missingOk = was === 'missing',
): Promise<string | undefined> {
  const link = await firstLink(p);
  if (link !== undefined) {
    const target = await realpath(link).then(
      (r) => `'${r}'`,
      async () => `'${await readlink(link).catch(() => '?')}', which does not exist`,
    );
    if (link === p) return `is now a symlink to ${target} (it was ${KIND_SHOWN[was]} at deploy)`;
    const now = await realpath(p).then(
      (r) => `, so it resolves to '${r}'`,
      () => '',
    );
    return `is now reached through a symlink: '${link}' links to ${target}${now}`;
  }
  const now = kindOf(await lstat(p).catch(() => undefined));
  if (now === was || (was === 'missing' && now === 'directory') || (missingOk && now === 'missing'))
    return undefined;
  return now === 'missing'
    ? `no longer exists (it was ${KIND_SHOWN[was]} at deploy)`
    : `is now ${KIND_SHOWN[now]} (it was ${KIND_SHOWN[was]} at deploy)`;
}

/**
 * Run at every container start, just before the engine resolves the mounts' host paths: each root,
 * mount and mask must still be exactly what deploy checked (no link on the way, same kind). Otherwise
 * the start fails with sandbox_error, naming each path and what changed. A swap after this check and
 * before the engine's mount (the engine's create and start, tens of ms) is not caught: see README.
 */
export async function verifyMounts(fs: ResolvedFs): Promise<void> {
  if (fs.mounts.length === 0) return;
  const problems: string[] = [];
  const badRoots = new Set<string>();
  for (const root of new Set(fs.mounts.map((m) => m.root))) {
    // A root missing at deploy (or since) is the mounts' concern: each says whether it existed.
    const change = await changeOf(root, 'directory', true);
    if (change) {
      problems.push(`sandbox.fs_roots: '${root}' ${change}`);
      badRoots.add(root);
    }
  }
  // A changed root or mount is named once, not again with every path below it.
  const bad = new Set<string>();
  for (const m of fs.mounts) {
    if (badRoots.has(m.root)) {
      bad.add(m.hostPath);
      continue;
    }
    const change = await changeOf(m.hostPath, m.kind);
    if (!change) continue;
    problems.push(`permissions.fs.allow: '${m.hostPath}' ${change}`);
    bad.add(m.hostPath);
  }
  for (const mask of fs.masks) {
    if ([...bad].some((m) => isWithin(mask, m))) continue;
    const change = await changeOf(mask, 'directory');
    if (change) problems.push(`permissions.fs.deny: '${mask}' ${change}`);
  }
  if (problems.length === 0) return;
  throw new SandboxError(
    `no container started: a mounted path changed since deploy: ${problems.join('; ')}. Restore it, or redeploy the function to check its permissions again`,
    { problems },
  );
}
