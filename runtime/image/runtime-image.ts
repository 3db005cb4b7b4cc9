// Makes the function runtime image available: present already, pulled from a registry, or, on
// air-gapped machines, built locally from the host's own `node` binary and the libraries it links.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { ContainerEngine } from '../engine/engine.ts';

const run = promisify(execFile);

/** Bump when the locally built image changes, so setups rebuild it. 2: /tmp is 1777. */
export const IMAGE_REV = '2';
const REV_LABEL = 'titan.image-rev';

export type ImageOutcome = 'present' | 'pulled' | 'built';

export interface EnsureImageOptions {
  /** try a registry before building; off when TITAN_OFFLINE=1 (air-gapped machines, CI) */
  pull?: boolean;
  /** how long a pull may take to answer before we assume no registry is reachable */
  pullTimeoutMs?: number;
  log?: (line: string) => void;
}

export async function ensureRuntimeImage(
  engine: ContainerEngine,
  ref: string,
  { pull = process.env.TITAN_OFFLINE !== '1', pullTimeoutMs = 20_000, log = () => {} }: EnsureImageOptions = {},
): Promise<ImageOutcome> {
  const labels = await engine.imageLabels(ref);
  // An image this code built earlier is rebuilt when the recipe changed; any other image is left alone.
  const stale = labels?.[REV_LABEL] !== undefined && labels[REV_LABEL] !== IMAGE_REV;
  if (labels && !stale) return 'present';
  if (stale) {
    log(`image ${ref} was built locally by an older recipe (rev ${labels![REV_LABEL]}); rebuilding`);
    await buildHostNodeImage(engine, ref);
    return 'built';
  }
  if (pull) {
    log(`image ${ref} is not present; trying to pull it`);
    try {
      await engine.pullImage(ref, pullTimeoutMs);
      return 'pulled';
    } catch (err) {
      log(`pull failed (${(err as Error).message.split('\n')[0]})`);
    }
  }
  log(`building ${ref} from this host's node ${process.version}`);
  await buildHostNodeImage(engine, ref);
  return 'built';
}

/** The shared libraries `ldd` lists for a binary, as absolute paths (the vDSO has none). */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const libs = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = line.match(/=>\s*(\/\S+)/) ?? line.match(/^\s*(\/\S+)/);
    if (m) libs.add(m[1]);
  }
  return [...libs];
}

/**
 * An image holding only `node` and its libraries: no shell, no package manager. The bootstrap and
 * the function code are mounted at run time, so nothing else is needed.
 */
export async function buildHostNodeImage(engine: ContainerEngine, tag: string, nodeBinary = process.execPath): Promise<void> {
  const ctx = await mkdtemp(join(tmpdir(), 'titan-image-'));
  try {
    const rootfs = join(ctx, 'rootfs');
    const place = async (src: string, dest: string) => {
      await mkdir(join(rootfs, dirname(dest)), { recursive: true });
      await copyFile(src, join(rootfs, dest)); // copyFile follows symlinks: the real file lands at the link's path
    };
    await place(nodeBinary, '/usr/local/bin/node');
    for (const lib of await sharedLibraries(nodeBinary)) await place(lib, lib);
    // A tmpfs mounted over an image directory takes that directory's mode: it must be 1777 here,
    // or the non-root function user cannot write /tmp however the tmpfs is mounted.
    await mkdir(join(rootfs, 'tmp'), { recursive: true });
    await chmod(join(rootfs, 'tmp'), 0o1777);
    await writeFile(
      join(ctx, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY rootfs/ /',
        'ENV PATH=/usr/local/bin:/usr/bin:/bin',
        `LABEL titan.local-build="node ${process.version} from the host" ${REV_LABEL}="${IMAGE_REV}"`,
        'ENTRYPOINT ["node"]',
        '',
      ].join('\n'),
    );
    await engine.buildImage(ctx, ['Dockerfile', 'rootfs'], tag);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}
