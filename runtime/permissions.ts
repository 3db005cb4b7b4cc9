// Turns a manifest's permissions.fs allow/deny paths into bind mounts confined to the configured roots
// (at deploy), and checks at every container start that those paths are still what deploy checked.
// Path helpers are in permissions/paths.ts; the start-time check in permissions/verify.ts.
import path from 'node:path';
import type { FsMount, MountKind } from './spec.ts';
import {
  entryPath,
  isWithin,
  KIND_SHOWN,
  kindOf,
  lstatOrUndefined,
  realpathExisting,
  staticPrefix,
} from './permissions/paths.ts';

export { entryPath, isWithin, staticPrefix } from './permissions/paths.ts';
export { verifyMounts } from './permissions/verify.ts';

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
