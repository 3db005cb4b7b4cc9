// A stem cell's code: the function's folder (and its build output) made to appear in the cell's own
// host directory, which its container has had mounted read-only at /fn since it started (a bind mount
// of a directory shows what is added to it later). Hard links where the filesystem allows them,
// copies otherwise: either way the container sees this one function's files, and cannot change them.
import {
  chmod,
  constants,
  copyFile,
  link,
  lstat,
  mkdir,
  readdir,
  readlink,
  symlink,
} from 'node:fs/promises';
import { join } from 'node:path';

export interface FillResult {
  linked: number;
  copied: number;
  /** sockets, FIFOs and devices: no use to a function, and nothing a container should share */
  skipped: number;
}

/**
 * Why link(2) may refuse where a copy works: another filesystem (EXDEV), a file the gateway does not
 * own under fs.protected_hardlinks (EPERM), too many links already (EMLINK).
 */
const LINK_REFUSED = new Set(['EXDEV', 'EPERM', 'EMLINK', 'EACCES']);

/**
 * Puts the tree at `src` into `dst`, an existing empty directory, and gives `dst` the mode of `src`.
 * Symlinks are recreated as they are, never followed: inside the container they resolve as they
 * would in the function's own container, and a link to a host path shows nothing of the host.
 */
export async function fillFrom(src: string, dst: string): Promise<FillResult> {
  const result: FillResult = { linked: 0, copied: 0, skipped: 0 };
  let canLink = true;
  const placeFile = async (from: string, to: string) => {
    if (canLink) {
      try {
        await link(from, to);
        result.linked++;
        return;
      } catch (err) {
        if (!LINK_REFUSED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        canLink = false; // the rest of the tree is on the same terms: copy without trying again
      }
    }
    await copyFile(from, to, constants.COPYFILE_FICLONE); // keeps the mode; a reflink where the filesystem has them
    result.copied++;
  };
  const walk = async (from: string, to: string): Promise<void> => {
    const entries = await readdir(from, { withFileTypes: true });
    // One directory's entries at once: the filesystem calls overlap on libuv's threads (measured
    // about twice as fast as one at a time for a node_modules tree).
    await Promise.all(
      entries.map(async (e) => {
        const s = join(from, e.name);
        const t = join(to, e.name);
        if (e.isDirectory()) {
          await mkdir(t);
          await walk(s, t);
          await chmod(t, (await lstat(s)).mode & 0o7777);
        } else if (e.isSymbolicLink()) await symlink(await readlink(s), t);
        else if (e.isFile()) await placeFile(s, t);
        else result.skipped++;
      }),
    );
  };
  await walk(src, dst);
  await chmod(dst, (await lstat(src)).mode & 0o7777);
  return result;
}
