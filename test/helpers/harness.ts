// Test harness: a real gateway on the real engine, in a private temp directory with its own state
// directory (and so its own container label scope), driven in-process through app.request.
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { type ConfigInput, parseConfig, type RuntimeConfig } from '../../runtime/config.ts';
import { DockerEngine } from '../../runtime/engine/docker-engine.ts';
import { locateEngine } from '../../runtime/engine/locate.ts';
import { Gateway, scopeOf } from '../../gateway/gateway.ts';
import type { ContainerSummary } from '../../runtime/engine/engine.ts';
import { LABEL } from '../../runtime/sandbox.ts';

// `npm test` right after `npm run setup` must find the engine setup started (as `npm start` does):
// DOCKER_HOST wins, then the default socket, then the engine recorded in the state directory. It is
// exported so child processes (gateways, the docker CLI) use the same one.
if (!process.env.DOCKER_HOST) {
  const found = await locateEngine(resolve(process.env.TITAN_STATE_DIR || '.titan'));
  if (found) process.env.DOCKER_HOST = found.host;
}

/** The engine the tests use (see above). */
export function testEngine(): DockerEngine {
  return new DockerEngine();
}

/** The engine's containers in a gateway's scope (its state directory), optionally of one function. */
export function containersOf(
  config: Pick<RuntimeConfig, 'stateDir'>,
  fnName?: string,
): Promise<ContainerSummary[]> {
  const labels: Record<string, string> = { [LABEL.scope]: scopeOf(config.stateDir) };
  if (fnName) labels[LABEL.fn] = fnName;
  return testEngine().listByLabels(labels);
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

export interface HarnessOptions {
  adminToken?: string;
  /**
   * Use this directory (from `newHarnessDir`) instead of a fresh one: a gateway started on the
   * directory of an earlier one shares its state directory, and so its container scope. Function
   * folders already in it are deployed as they are. Removed on close like a private one.
   */
  dir?: string;
}

/** A private directory for a harness; short, as unix socket paths are limited to 107 bytes. */
export const newHarnessDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'tt-'));

export async function startHarness(
  functions: Record<string, FunctionFiles> = {},
  /** as a config file spells them: merged into each section (`sources` replaced whole) */
  overrides: ConfigInput = {},
  { dir: givenDir, ...gatewayOptions }: HarnessOptions = {},
): Promise<Harness> {
  const dir = givenDir ?? (await newHarnessDir());
  const functionsDir = join(dir, 'functions');
  await mkdir(functionsDir, { recursive: true });
  // Written as a config file is (snake_case keys) and checked as one: a misspelt key fails here.
  const config = parseConfig(
    {
      ...overrides,
      functions_dir: functionsDir,
      state_dir: join(dir, 's'),
      gateway: { port: 0, ...overrides.gateway },
      sandbox: { default_cpu: '1', ...overrides.sandbox },
      pool: { idle_sec: 60, ...overrides.pool },
      // A key prefix of its own per harness: tests share one Redis (REDIS_URL) without seeing each other.
      events: {
        key_prefix: `t${randomBytes(4).toString('hex')}:`,
        block_ms: 200,
        retry_base_ms: 50,
        ...overrides.events,
      },
      // Entries need absolute paths: the harness directory is not the cwd.
    },
    dir,
  );
  const addFunction = async (folder: string, files: FunctionFiles) => {
    const staging = join(dir, `.staging-${folder}`);
    await mkdir(staging, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(join(staging, file), text);
    // Appear whole, as a deploy tool would do it: no half-written folder is ever scanned.
    const { rename } = await import('node:fs/promises');
    await rename(staging, join(functionsDir, folder));
  };
  for (const [folder, files] of Object.entries(functions)) await addFunction(folder, files);
  const gw = new Gateway({
    config,
    engine: testEngine(),
    log: pino({ level: process.env.TITAN_TEST_LOG ?? 'silent' }),
    processMetrics: false,
    ...gatewayOptions,
  });
  try {
    await gw.start();
    await gw.registry.settled();
  } catch (err) {
    // A harness that failed to start leaves no containers behind for the next run.
    await gw.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    gw,
    dir,
    functionsDir,
    config,
    request: async (path, init) => gw.app.request(path, init),
    invoke: async (name, body) =>
      gw.app.request(`/functions/${name}/invoke`, {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
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
export async function eventually<T>(
  check: () => Promise<T> | T,
  ms = 10_000,
  every = 50,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, every));
  }
}

export interface ErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** The error of an error response, after checking the one documented shape: `{ error: { code, message } }`. */
export async function errorOf(res: Response): Promise<ErrorBody> {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, 'errors are JSON');
  const body = (await res.json()) as { error: ErrorBody };
  assert.deepEqual(Object.keys(body), ['error'], 'an error body has `error` and nothing else');
  const { code, message, details } = body.error;
  assert.equal(typeof code, 'string');
  assert.ok(typeof message === 'string' && message.length > 0, 'an error says what happened');
  assert.ok(
    Object.keys(body.error).every((k) => ['code', 'message', 'details'].includes(k)),
    `error keys: ${Object.keys(body.error)}`,
  );
  if (details !== undefined) assert.equal(typeof details, 'object');
  return body.error;
}
