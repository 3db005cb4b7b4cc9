// Turns a manifest's permissions.fs allow/deny paths into bind mounts confined to the configured roots
// (at deploy), and checks at every container start that those paths are still what deploy checked.
import fs from 'node:fs';
import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { SandboxError } from './errors.ts';
import type { FsMount, MountKind } from './spec.ts';

export interface FsPermissions {
  allow?: string[];
  deny?: string[];
}

export interface ResolvedFs {
  mounts: FsMount[];
  /** container paths to cover with an empty read-only tmpfs (denied paths inside a mount) */
  masks: string[];
}

/** Every problem found, one line each, so the manifest can report them all at once. */
export class FsPermissionError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'FsPermissionError';
    this.problems = problems;
  }
}

const GLOB_CHARS = /[*?[{]/;

// Mounting over these (or over a parent of them) would replace the container's own system or its
// /tmp tmpfs; the sandbox relies on them, so no root configuration can allow it.
const RESERVED = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/sys',
  '/tmp',
  '/usr',
  '/var',
];

/** The path segments before the first one holding a glob character: `./inbox/**\/*.pdf` → `./inbox`. */
export function staticPrefix(pattern: string): string {
  const segments = pattern.split('/');
  const i = segments.findIndex((s) => GLOB_CHARS.test(s));
  const prefix = (i === -1 ? segments : segments.slice(0, i)).join('/');
  if (prefix !== '') return prefix;
  return pattern.startsWith('/') ? '/' : '.';
}

/**
 * The directory an entry names: a plain path, or a path ending in `/**` (the whole directory, as the
 * shipped manifests write `./inbox/**`). Any other glob is undefined: a bind mount cannot hold only
 * the files a glob matches, so `./inbox/*.pdf` would quietly mount all of `./inbox`.
 */
export function entryPath(entry: string): string | undefined {
  const base = entry === '**' ? '.' : entry.endsWith('/**') ? entry.slice(0, -3) || '/' : entry;
  return GLOB_CHARS.test(base) ? undefined : base;
}

/** True when `child` equals `parent` or lies below it. Both absolute and normalised. */
export function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * realpath of the longest existing ancestor, with the missing rest appended. Resolving only paths
 * that exist would let `root/link/not-yet` (link → /etc) pass the root check lexically.
 */
function realpathExisting(p: string): string {
  const missing: string[] = [];
  let head = p;
  for (;;) {
    try {
      return path.join(fs.realpathSync.native(head), ...missing);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      // A dangling symlink makes realpath fail with ENOENT too; the engine would follow it (and might
      // create its target), so it cannot be treated as "not there yet".
      if (lstatOrUndefined(head)?.isSymbolicLink())
        throw new Error(`'${head}' is a symlink whose target does not exist`);
      const parent = path.dirname(head);
      if (parent === head) return p;
      missing.unshift(path.basename(head));
      head = parent;
    }
  }
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

type Kind = MountKind | 'symlink' | 'other';
const kindOf = (st: fs.Stats | undefined): Kind =>
  !st
    ? 'missing'
    : st.isDirectory()
      ? 'directory'
      : st.isFile()
        ? 'file'
        : st.isSymbolicLink()
          ? 'symlink'
          : 'other';
const KIND_SHOWN: Record<Kind, string> = {
  directory: 'a directory',
  file: 'a file',
  missing: 'missing',
  symlink: 'a symlink',
  other: 'a socket, FIFO or device',
};

/** Resolves one entry to the absolute real path of the directory it names, or returns the problem. */
function resolveEntry(
  key: string,
  entry: string,
  cwd: string,
): { path: string } | { problem: string } {
  const bad = (why: string) => ({ problem: `${key}: ${JSON.stringify(entry)} ${why}` });
  if (typeof entry !== 'string' || entry === '') return bad('is not a path');
  if (entry.includes('\0')) return bad('contains a NUL byte');
  if (entry.includes(':'))
    return bad("contains ':', which the container engine reads as a separator");
  const named = entryPath(entry);
  if (named === undefined) {
    const dir = staticPrefix(entry);
    const whole = `${dir === '/' ? '' : dir}/**`;
    const [verb, what] = key.endsWith('allow') ? ['mount', 'mounts are'] : ['hide', 'deny hides'];
    return bad(
      `would ${verb} all of '${dir}'; ${what} whole directories: write '${dir}' or '${whole}'`,
    );
  }
  let real: string;
  try {
    // path.resolve drops `..` by name before any link is followed; the result is checked against the
    // roots and is what gets mounted, so `link/..` cannot mean one thing here and another to the kernel.
    real = realpathExisting(path.resolve(cwd, named));
  } catch (e) {
    return bad(`cannot be resolved: ${(e as Error).message}`);
  }
  // A symlink target may itself contain ':'.
  if (real.includes(':')) return bad(`resolves to '${real}', which contains ':'`);
  return { path: real };
}

/** Keeps the outermost of nested or duplicate paths, sorted. */
function outermost(paths: string[]): string[] {
  const kept: string[] = [];
  for (const p of [...new Set(paths)].sort((a, b) => a.length - b.length || a.localeCompare(b))) {
    if (!kept.some((k) => isWithin(p, k))) kept.push(p);
  }
  return kept.sort();
}

export function resolveFsPermissions(
  perms: FsPermissions | undefined,
  roots: string[],
  cwd: string,
): ResolvedFs {
  const problems: string[] = [];
  const realRoots = roots.map((r) => {
    try {
      return realpathExisting(path.resolve(cwd, r));
    } catch {
      return path.resolve(cwd, r); // a broken root permits nothing more than its own lexical path
    }
  });
  const resolveAll = (key: string, entries: string[] | undefined) =>
    (entries ?? []).flatMap((entry) => {
      const r = resolveEntry(key, entry, cwd);
      if ('problem' in r) problems.push(r.problem);
      return 'path' in r ? [{ entry, path: r.path }] : [];
    });

  const allowKey = 'permissions.fs.allow';
  const allowed = resolveAll(allowKey, perms?.allow).filter(({ entry, path: p }) => {
    const shown = p === entry ? `'${p}'` : `'${entry}' (resolves to '${p}')`;
    if (realRoots.length === 0) {
      problems.push(
        `${allowKey}: ${shown} cannot be mounted: no fs roots are configured; add a root to sandbox.fs_roots in the runtime config`,
      );
      return false;
    }
    if (!realRoots.some((root) => isWithin(p, root))) {
      problems.push(
        `${allowKey}: ${shown} is outside the permitted roots (${realRoots.join(', ')}); add a root to sandbox.fs_roots in the runtime config`,
      );
      return false;
    }
    const hidden = RESERVED.find((r) => isWithin(r, p));
    if (hidden) {
      problems.push(
        `${allowKey}: ${shown} would hide the container's own ${hidden}; allow a directory below it instead`,
      );
      return false;
    }
    if (kindOf(lstatOrUndefined(p)) === 'other') {
      problems.push(
        `${allowKey}: ${shown} is ${KIND_SHOWN.other}; only directories and files can be mounted`,
      );
      return false;
    }
    return true;
  });
  const denied = resolveAll('permissions.fs.deny', perms?.deny).map((d) => d.path);

  // Deny wins: a mount at or below a denied path is dropped; a denied path strictly inside a mount is masked.
  const mountPaths = outermost(
    allowed.map((a) => a.path).filter((a) => !denied.some((d) => isWithin(a, d))),
  );
  const masks = outermost(denied.filter((d) => mountPaths.some((m) => d !== m && isWithin(d, m))));
  for (const m of masks) {
    // The engine covers a mask with a tmpfs, which needs a directory to mount on; it cannot create one
    // inside the read-only mount, so a missing or file mask would fail every start instead.
    const kind = kindOf(lstatOrUndefined(m));
    if (kind !== 'directory')
      problems.push(
        `permissions.fs.deny: '${m}' is ${KIND_SHOWN[kind]} inside a mount; deny hides existing directories only`,
      );
  }
  if (problems.length > 0) throw new FsPermissionError(problems);
  return {
    mounts: mountPaths.map((p) => ({
      hostPath: p,
      containerPath: p,
      // the innermost root holding it, so a start names the root that changed
      root: realRoots.filter((r) => isWithin(p, r)).sort((a, b) => b.length - a.length)[0]!,
      // a real path is never a link, and 'other' was refused above
      kind: kindOf(lstatOrUndefined(p)) as MountKind,
    })),
    masks,
  };
}

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
