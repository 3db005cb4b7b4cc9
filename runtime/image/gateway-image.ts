// Builds the gateway's own production image from Containerfile, offline: the production
// dependencies are installed on the host into a staging build context, so no build step needs a
// network or an npm inside the base image.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ContainerEngine } from '../engine/engine.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * What the image holds, besides the dependencies npm installs into the context. The gateway runs
 * compiled, as `npm start` runs it: dist/ (built here first when stale) next to the sources its
 * bundle resolves files against and its source maps name.
 */
const SOURCES = [
  'dist/main.js',
  'dist/main.js.map',
  'package.json',
  'package-lock.json',
  'Containerfile',
  'bin',
  'config',
  'functions',
  'gateway',
  'runtime',
];

export async function buildGatewayImage(
  engine: ContainerEngine,
  tag: string,
  log: (line: string) => void = () => {},
): Promise<void> {
  // The same staleness rule as `npm start` (bin/start.js): only a source newer than the build rebuilds.
  await run(process.execPath, [join(ROOT, 'scripts', 'build.js'), '--if-stale'], { cwd: ROOT });
  const ctx = await mkdtemp(join(tmpdir(), 'titan-gw-image-'));
  try {
    await mkdir(join(ctx, 'dist'));
    for (const entry of SOURCES) await cp(join(ROOT, entry), join(ctx, entry), { recursive: true });
    log(`installing production dependencies into the build context (${ctx})`);
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: ctx,
      maxBuffer: 16 << 20,
    });
    log(`building ${tag} from Containerfile`);
    await engine.buildImage(ctx, [...SOURCES, 'node_modules'], tag, 'Containerfile');
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}
