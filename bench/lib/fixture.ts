// The benchmark's private directory: runtime config, functions directory, no-op function folders.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultConfig, type RuntimeConfig } from '../../runtime/config.ts';

export const NOOP_HANDLER = 'export default async () => null;\n';
/** Answers the id of the container that served it (its hostname): which path a cold start took. */
export const HOSTNAME_HANDLER =
  "import { hostname } from 'node:os';\nexport default async () => hostname();\n";
export const STEM_MIN = 2;
export const STEM_MAX = 8;
export const EVENT_TOPIC = 'bench.events';

export interface BenchDir {
  dir: string;
  functionsDir: string;
  config: RuntimeConfig;
  /** prefix of every Redis key this run's gateway uses (the Redis may be shared) */
  keyPrefix: string;
}

/** Under /tmp with a short name: container socket paths are limited to 107 bytes. */
export async function createBenchDir(): Promise<BenchDir> {
  const dir = await mkdtemp('/tmp/tb-');
  const functionsDir = join(dir, 'functions');
  await mkdir(functionsDir, { recursive: true });
  const keyPrefix = `bench${randomBytes(4).toString('hex')}:`;
  const base = defaultConfig(dir);
  const config: RuntimeConfig = {
    ...base,
    functionsDir: functionsDir,
    stateDir: join(dir, 's'),
    gateway: { ...base.gateway, host: '127.0.0.1', port: 0 },
    // The recommended start (README): two node cells ready, up to eight after a burst found none. The
    // functions' CPU share (below) is the default, so stem cells are made with it: a function whose
    // resources differ from the defaults is specialized with an engine update (measured apart).
    sandbox: {
      ...base.sandbox,
      defaultCpu: '1',
      stemCells: { node: { min: STEM_MIN, max: STEM_MAX }, python: { min: 0, max: 8 } },
    },
    events: { ...base.events, keyPrefix: keyPrefix },
  };
  return { dir, functionsDir, config, keyPrefix };
}

export interface FunctionShape {
  pool: { min: number; max: number; concurrency: number };
  topic?: string;
  /** more topics it is triggered by (the cluster row spreads a burst over the masters) */
  topics?: string[];
  /** another name for the runtime image (its id): the same image, but cold starts take the classic path */
  image?: string;
  /** the handler's source; default NOOP_HANDLER */
  source?: string;
  /** resources.memory; default the sandbox's */
  memory?: string;
}

/** The warm functions' pool: one container taking every call at once; the references get the same. */
export const ONE_CONTAINER: FunctionShape['pool'] = { min: 1, max: 1, concurrency: 64 };

/**
 * A no-op function's manifest. `cpu: "1"`: a full CPU share, so the container is not starved by
 * whatever else runs on the machine (the default 50m is a weight of 51 against others' 1024).
 */
export function manifest({ pool, topic, topics, image, memory }: FunctionShape): string {
  const triggers = [...(topic ? [topic] : []), ...(topics ?? [])];
  return [
    'version: "1"',
    ...(image ? [`image: "${image}"`] : []),
    'resources:',
    '  cpu: "1"',
    ...(memory ? [`  memory: ${memory}`] : []),
    'pool:',
    `  min: ${pool.min}`,
    `  max: ${pool.max}`,
    `  concurrency: ${pool.concurrency}`,
    ...(triggers.length ? ['triggers:', ...triggers.map((t) => `  - topic: ${t}`)] : []),
    '',
  ].join('\n');
}

/**
 * Write a function folder beside the functions directory; the returned `commit` moves it in, so it
 * appears whole (and a deploy can be timed from that moment).
 */
export async function stageFunction(
  bench: BenchDir,
  name: string,
  shape: FunctionShape,
): Promise<() => Promise<void>> {
  const staging = join(bench.dir, `.staging-${name}`);
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, 'function.yaml'), manifest(shape));
  await writeFile(join(staging, 'index.js'), shape.source ?? NOOP_HANDLER);
  return () => rename(staging, join(bench.functionsDir, name));
}

export async function dropFunction(
  bench: BenchDir,
  name: string,
  shape: FunctionShape,
): Promise<void> {
  await (await stageFunction(bench, name, shape))();
}

/** Write a function folder outside the functions directory (for the raw references). */
export async function writeFunctionFolder(
  bench: BenchDir,
  name: string,
  shape: FunctionShape,
): Promise<string> {
  const dir = join(bench.dir, 'ref', name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'function.yaml'), manifest(shape));
  await writeFile(join(dir, 'index.js'), NOOP_HANDLER);
  return dir;
}

export const removeFunction = (bench: BenchDir, name: string): Promise<void> =>
  rm(join(bench.functionsDir, name), { recursive: true, force: true });
