// A cheap fingerprint of a function folder (paths, sizes, mtimes) so a rescan redeploys only the
// folders whose files actually changed.
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * node_modules is fingerprinted by its own mtime only: walking it on every change would be slow. A
 * change deeper inside reaches the deployer through the folder watcher instead (folder-watcher.ts).
 */
export const SHALLOW = new Set(['node_modules']);

export async function folderFingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      const st = await stat(join(dir, path)).catch(() => undefined);
      if (!st) continue; // removed while we looked: the next scan sees the settled state
      hash.update(`${path}\0${st.size}\0${st.mtimeMs}\0`);
      if (st.isDirectory() && !SHALLOW.has(e.name)) await walk(path);
    }
  };
  await walk('');
  return hash.digest('hex');
}
