// The file source's view of a tree without a watcher: which names to skip, every file below a root,
// and waiting for a file found by a scan to stop changing.
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { globToRegExp } from '../events/glob.ts';

/**
 * `*` / `?` name patterns, matched against each segment of a path relative to the root, so a pattern
 * also skips everything inside a matching directory. The root itself is never skipped: it may well
 * sit under a dot directory (`~/.titan/inbox`).
 */
export function ignoreMatcher(patterns: readonly string[]): (rel: string) => boolean {
  const res = patterns.map(globToRegExp);
  const outside = (rel: string) => rel === '' || rel === '..' || rel.startsWith('../');
  return (rel) => !outside(rel) && rel.split('/').some((name) => res.some((re) => re.test(name)));
}

/**
 * Every regular file under `root` (only its top level unless `recursive`), as posix relative paths.
 * `ignored` prunes whole directories. Symlinks are skipped: their target may lie outside what a
 * function can mount. Directories that vanish mid-walk are skipped too.
 */
export async function* walk(
  root: string,
  recursive: boolean,
  ignored: (rel: string) => boolean,
  rel = '',
): AsyncGenerator<string> {
  let entries: Dirent[];
  try {
    entries = await readdir(path.join(root, rel), { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw err;
  }
  for (const d of entries) {
    const child = rel ? `${rel}/${d.name}` : d.name;
    if (ignored(child)) continue;
    if (d.isFile()) yield child;
    else if (d.isDirectory() && recursive) yield* walk(root, recursive, ignored, child);
  }
}

/**
 * Re-stat every `ms` until size and mtime hold still; the final stats, or undefined if the file went
 * away or `signal` aborted. For files a scan finds mid-write; the watcher's own events are settled by
 * chokidar's awaitWriteFinish.
 */
export async function settled(
  abs: string,
  st: Stats,
  ms: number,
  signal: AbortSignal,
): Promise<Stats | undefined> {
  try {
    for (;;) {
      await sleep(ms, undefined, { signal });
      const now = await lstat(abs).catch(() => undefined);
      if (!now?.isFile()) return undefined;
      if (now.size === st.size && now.mtimeMs === st.mtimeMs) return now;
      st = now;
    }
  } catch {
    return undefined; // aborted: closing
  }
}
