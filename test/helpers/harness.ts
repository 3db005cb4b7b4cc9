// Test harness: a real gateway on the real engine, in a private temp directory with its own state
// directory (and so its own container label scope), driven in-process through app.request.
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { defaultConfig, type RuntimeConfig } from '../../runtime/config.ts';
import { DockerEngine } from '../../runtime/engine/docker-engine.ts';
import { Gateway } from '../../gateway/gateway.ts';

/** The engine the tests use: DOCKER_HOST, as .ci/run and `npm run setup` arrange. */
export function testEngine(): DockerEngine {
  return new DockerEngine();
}

export type FunctionFiles = Record<string, string>;

export interface Harness {
  gw: Gateway;
  dir: string;
  functionsDir: string;
  config: RuntimeConfig;
  request(path: string, init?: RequestInit): Promise<Response>;
  invoke(name: string, body: unknown): Promise<Response>;
  addFunction(folder: string, files: FunctionFiles): Promise<void>;
  removeFunction(folder: string): Promise<void>;
  close(): Promise<void>;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export async function startHarness(
  functions: Record<string, FunctionFiles> = {},
  overrides: DeepPartial<RuntimeConfig> = {},
  gatewayOptions: { adminToken?: string } = {},
): Promise<Harness> {
  // Short path: unix socket paths are limited to 107 bytes.
  const dir = await mkdtemp(join(tmpdir(), 'tt-'));
  const functionsDir = join(dir, 'functions');
  await mkdir(functionsDir);
  const base = defaultConfig(dir);
  const config: RuntimeConfig = {
    ...base,
    functions_dir: functionsDir,
    state_dir: join(dir, 's'),
    gateway: { ...base.gateway, port: 0, ...overrides.gateway },
    sandbox: { ...base.sandbox, default_cpu: '1', ...overrides.sandbox } as RuntimeConfig['sandbox'],
    pool: { ...base.pool, idle_sec: 60, ...overrides.pool },
    // A key prefix of its own per harness: tests share one Redis (REDIS_URL) without seeing each other.
    events: { ...base.events, key_prefix: `t${randomBytes(4).toString('hex')}:`, block_ms: 200, retry_base_ms: 50, ...overrides.events },
  };
  const addFunction = async (folder: string, files: FunctionFiles) => {
    const staging = join(dir, `.staging-${folder}`);
    await mkdir(staging, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(join(staging, file), text);
    // Appear whole, as a deploy tool would do it: no half-written folder is ever scanned.
    const { rename } = await import('node:fs/promises');
    await rename(staging, join(functionsDir, folder));
  };
  for (const [folder, files] of Object.entries(functions)) await addFunction(folder, files);
  const gw = new Gateway({ config, engine: testEngine(), log: pino({ level: process.env.TITAN_TEST_LOG ?? 'silent' }), processMetrics: false, ...gatewayOptions });
  await gw.start();
  await gw.registry.settled();
  return {
    gw,
    dir,
    functionsDir,
    config,
    request: async (path, init) => gw.app.request(path, init),
    invoke: async (name, body) =>
      gw.app.request(`/functions/${name}/invoke`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) }),
    addFunction,
    removeFunction: (folder) => rm(join(functionsDir, folder), { recursive: true, force: true }),
    close: async () => {
      await gw.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A function folder: manifest YAML plus handler source. */
export function fn(handler: string, manifest = '', file = 'index.js'): FunctionFiles {
  return { 'function.yaml': manifest || 'version: "1"\n', [file]: handler };
}

/** Poll until `check` returns truthy or `ms` pass; returns the last value. For state, not speed. */
export async function eventually<T>(check: () => Promise<T> | T, ms = 10_000, every = 50): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, every));
  }
}
