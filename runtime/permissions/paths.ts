// Path facts the fs permissions rest on: glob prefixes, containment, real paths, and what a path is.
import fs from 'node:fs';
import path from 'node:path';
import type { MountKind } from '../spec.ts';

const GLOB_CHARS = /[*?[{]/;

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
export function realpathExisting(p: string): string {
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

export function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

export type Kind = MountKind | 'symlink' | 'other';
export const kindOf = (st: fs.Stats | undefined): Kind =>
  !st
    ? 'missing'
    : st.isDirectory()
      ? 'directory'
      : st.isFile()
        ? 'file'
        : st.isSymbolicLink()
          ? 'symlink'
          : 'other';
export const KIND_SHOWN: Record<Kind, string> = {
  directory: 'a directory',
  file: 'a file',
  missing: 'missing',
  symlink: 'a symlink',
  other: 'a socket, FIFO or device',
};
