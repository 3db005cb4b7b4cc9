// shell_runner's path rules: no argument may name anything outside the allowed directories, by
// `..`, by an absolute path, or through a symbolic link.
import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { InputRejected, shown } from './rejection.ts';

/** Longest name of one directory entry (Linux NAME_MAX): a longer segment names nothing. */
const NAME_MAX = 255;

/** True when `child` equals `parent` or lies below it; both absolute and normalised. */
export function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * The strings in one argument that a program may open as a path. Which arguments are paths is the
 * program's business, so every argument is taken as one, and so are the parts options carry:
 * the value after `=` (`--file=/etc/passwd`, `if=/x`) and, for a short-option cluster, every place
 * its value may start (`-f/etc/passwd`, `-rflink` is `-r -f link`) whose first segment could name
 * an entry. A pattern like `a/b` that is not a path is harmless: inside the working directory.
 */
export function pathCandidates(arg: string): string[] {
  const out = new Set<string>([arg]);
  const eq = arg.indexOf('=');
  if (eq !== -1) out.add(arg.slice(eq + 1));
  const cluster = /^-([A-Za-z0-9]*)/.exec(arg);
  if (cluster && !arg.startsWith('--')) {
    const slash = arg.indexOf('/');
    const segmentEnd = slash === -1 ? arg.length : slash;
    for (let i = Math.max(2, segmentEnd - NAME_MAX); i <= 1 + cluster[1]!.length; i++)
      out.add(arg.slice(i));
  }
  out.delete('');
  return [...out];
}

const DOTDOT = /(^|\/)\.\.(\/|$)/;
const errno = (e: unknown) => (e as NodeJS.ErrnoException).code ?? 'error';

/**
 * Why `abs` (normalised, without '..') is not inside the allowed directories, or undefined when it
 * is. Walks down from the allowed directory it lies in, one entry at a time, following each link
 * and checking where it lands; the walk stops at the first entry that does not exist (nothing
 * beyond it can lead anywhere). A dangling link is refused: whatever follows it acts on its target.
 * An absolute path must name an allowed directory as it is mounted (its real path), not through a
 * link elsewhere. Cost: one lstat per existing segment, and no exception on the usual paths (an
 * argument may hold thousands of candidates; exceptions made that take seconds).
 */
function escapeReason(abs: string, allowed: readonly string[]): string | undefined {
  const base = allowed.find((d) => isWithin(abs, d));
  if (!base) return 'leaves the allowed directories';
  let cur = base;
  for (const seg of path.relative(base, abs).split(path.sep)) {
    if (seg === '') continue;
    if (seg.length > NAME_MAX) return undefined;
    const next = path.join(cur, seg);
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(next, { throwIfNoEntry: false });
    } catch {
      return undefined; // ENOTDIR and the like: not there, for the program either
    }
    if (!st) return undefined;
    if (!st.isSymbolicLink()) {
      cur = next;
      continue;
    }
    let real: string;
    try {
      real = realpathSync.native(next);
    } catch (e) {
      return errno(e) === 'ENOENT'
        ? 'is or goes through a symbolic link whose target does not exist'
        : `cannot be checked (${errno(e)})`;
    }
    // The link's target is not shown to the caller.
    if (!allowed.some((d) => isWithin(real, d)))
      return 'leaves the allowed directories through a symbolic link';
    cur = real;
  }
  return undefined;
}

/** The allowed directories that exist, as real paths (the container sees them at their host paths). */
export function realDirectories(dirs: readonly string[]): string[] {
  return dirs.flatMap((d) => {
    try {
      return [realpathSync.native(d)];
    } catch {
      return [];
    }
  });
}

/**
 * Checks every argument against the path rules; `cwd` is where relative paths start (an allowed
 * directory) and `allowed` are real paths.
 */
export function checkPaths(args: readonly string[], cwd: string, allowed: readonly string[]): void {
  const where = allowed.join(', ');
  args.forEach((arg, i) => {
    const n = i + 1;
    const candidates = pathCandidates(arg);
    if (candidates.some((c) => DOTDOT.test(c))) {
      throw new InputRejected(
        'path_dotdot',
        `argument ${n} ${shown(arg)} contains a '..' path segment; name paths inside ${where} without '..'`,
      );
    }
    for (const c of candidates) {
      const problem = escapeReason(path.resolve(cwd, c), allowed);
      if (problem)
        throw new InputRejected('path_escape', `argument ${n} ${shown(arg)} ${problem} (${where})`);
    }
  });
}
