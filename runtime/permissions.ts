// Turns a manifest's permissions.fs allow/deny globs into bind mounts confined to the configured roots.
import fs from 'node:fs';
import path from 'node:path';
import type { FsMount } from './spec.ts';

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
const RESERVED = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/proc', '/root', '/run', '/sbin', '/sys', '/tmp', '/usr', '/var'];

/** The path segments before the first one holding a glob character: `./inbox/**\/*.pdf` → `./inbox`. */
export function staticPrefix(pattern: string): string {
  const segments = pattern.split('/');
  const i = segments.findIndex((s) => GLOB_CHARS.test(s));
  const prefix = (i === -1 ? segments : segments.slice(0, i)).join('/');
  if (prefix !== '') return prefix;
  return pattern.startsWith('/') ? '/' : '.';
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
      if (lstatOrUndefined(head)?.isSymbolicLink()) throw new Error(`'${head}' is a symlink whose target does not exist`);
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

/** Resolves one glob to the absolute real path of its static prefix, or returns the problem. */
function resolveEntry(key: string, entry: string, cwd: string): { path: string } | { problem: string } {
  const bad = (why: string) => ({ problem: `${key}: ${JSON.stringify(entry)} ${why}` });
  if (typeof entry !== 'string' || entry === '') return bad('is not a path');
  if (entry.includes('\0')) return bad('contains a NUL byte');
  if (entry.includes(':')) return bad("contains ':', which the container engine reads as a separator");
  let real: string;
  try {
    real = realpathExisting(path.resolve(cwd, staticPrefix(entry)));
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

export function resolveFsPermissions(perms: FsPermissions | undefined, roots: string[], cwd: string): ResolvedFs {
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
      problems.push(`${allowKey}: ${shown} cannot be mounted: no fs roots are configured; add a root to sandbox.fs_roots in the runtime config`);
      return false;
    }
    if (!realRoots.some((root) => isWithin(p, root))) {
      problems.push(`${allowKey}: ${shown} is outside the permitted roots (${realRoots.join(', ')}); add a root to sandbox.fs_roots in the runtime config`);
      return false;
    }
    const hidden = RESERVED.find((r) => isWithin(r, p));
    if (hidden) {
      problems.push(`${allowKey}: ${shown} would hide the container's own ${hidden}; allow a directory below it instead`);
      return false;
    }
    return true;
  });
  const denied = resolveAll('permissions.fs.deny', perms?.deny).map((d) => d.path);
  if (problems.length > 0) throw new FsPermissionError(problems);

  // Deny wins: a mount at or below a denied path is dropped; a denied path strictly inside a mount is masked.
  const mountPaths = outermost(allowed.map((a) => a.path).filter((a) => !denied.some((d) => isWithin(a, d))));
  const masks = outermost(denied.filter((d) => mountPaths.some((m) => d !== m && isWithin(d, m))));
  return { mounts: mountPaths.map((p) => ({ hostPath: p, containerPath: p })), masks };
}
