// What an earlier gateway on the same state directory left behind (it crashed or was killed):
// its containers (stem cells too, specialized or not: they carry the scope), their socket
// directories, the stem cells' code directories, the handler builds and secret copies they mounted.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildRoot } from '../build.ts';
import type { ContainerEngine } from '../engine/engine.ts';
import { LABEL } from '../sandbox.ts';
import { secretCopiesRoot } from '../secrets.ts';
import { cellsDirOf } from '../stem-cells/stem-cell.ts';

/** Where each container's socket directory lives under the state directory. */
export const runDirOf = (stateDir: string): string => join(stateDir, 'run');

/**
 * Removes the containers labelled with this gateway's scope, and only those (another gateway on the
 * same engine has a scope of its own). Returns how many there were. Call before the first deploy.
 */
export async function removeOrphans(
  engine: ContainerEngine,
  scope: string,
  stateDir: string,
): Promise<number> {
  const orphans = await engine.listByLabels({ [LABEL.managed]: 'true', [LABEL.scope]: scope });
  await Promise.all(orphans.map((c) => engine.remove(c.id)));
  // A directory that cannot be removed is harmless leftover.
  await rm(runDirOf(stateDir), { recursive: true, force: true }).catch(() => {});
  await rm(buildRoot(stateDir), { recursive: true, force: true }).catch(() => {});
  await rm(cellsDirOf(stateDir), { recursive: true, force: true }).catch(() => {});
  await rm(secretCopiesRoot(stateDir), { recursive: true, force: true }).catch(() => {});
  return orphans.length;
}
