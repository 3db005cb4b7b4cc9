// Event-system test helpers: a Redis for assertions (REDIS_URL, or a private redis-server for this
// test process), private redis-servers that a test can stop and restart, and the gateway as a child
// process that a test can kill with SIGKILL and start again on the same state directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { redisOptionsFromUrl } from '../../gateway/events/redis.ts';
import { scopeOf } from '../../gateway/gateway.ts';
import { engineAt } from '../../runtime/engine/locate.ts';
import { LABEL } from '../../runtime/sandbox.ts';
import { testEngine, type FunctionFiles } from './harness.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

/** A short temp directory: unix socket paths (redis, function containers) are limited to 107 bytes. */
const shortTempDir = (tag: string): Promise<string> => mkdtemp(join('/tmp', `${tag}-`));

export const uniquePrefix = (): string => `t${randomBytes(4).toString('hex')}:`;

// ---------------------------------------------------------------------------------------------
// Redis for assertions

let shared: Promise<string> | undefined;

/**
 * The Redis every test in this process shares: REDIS_URL, or (when unset) a private redis-server
 * started once for this process, exported as REDIS_URL so in-process gateways use it too, and
 * killed when the process exits.
 */
export function sharedRedisUrl(): Promise<string> {
  shared ??= (async () => {
    if (process.env.REDIS_URL) return process.env.REDIS_URL;
    const server = await startRedisServer({ appendonly: false });
    const proc = server.process();
    proc?.unref(); // never keeps the test process alive; killed on exit below
    process.once('exit', () => {
      // 'exit' handlers cannot await: kill and remove synchronously
      server.process()?.kill('SIGKILL');
      rmSync(server.dir, { recursive: true, force: true });
    });
    process.env.REDIS_URL = server.url;
    return server.url;
  })();
  return shared;
}

/** A client for assertions and for publishing raw entries; the caller disconnects it. */
export function redisClient(url: string): Redis {
  const r = new Redis({
    ...redisOptionsFromUrl(url),
    maxRetriesPerRequest: 1,
    retryStrategy: (n) => Math.min(n * 100, 1000),
  });
  r.on('error', () => {}); // the restart test takes Redis away on purpose
  return r;
}

/** Remove every key a test created under its prefix. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

export type StreamEntry = { id: string; fields: Record<string, string> };

export async function readStream(redis: Redis, key: string): Promise<StreamEntry[]> {
  const entries = await redis.xrange(key, '-', '+');
  return entries.map(([id, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    return { id, fields };
  });
}

/** True when `done` settles within `ms`; the timer is cleared either way (a stray one would hold the process). */
async function within(done: Promise<void>, ms: number): Promise<boolean> {
  const ac = new AbortController();
  try {
    return await Promise.race([done.then(() => true), sleep(ms, false, { signal: ac.signal })]);
  } finally {
    ac.abort();
  }
}

/**
 * Poll until `check` returns a truthy value; throws with `what` after `ms`. A bound, not a speed
 * claim: generous, as CI machines run several suites (and container starts) at once.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  ms = 30_000,
  every = 50,
): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as T;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(
        `timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
      );
    await sleep(every);
  }
}

// ---------------------------------------------------------------------------------------------
// Private redis-server

export interface RedisServer {
  url: string;
  socket: string;
  dir: string;
  process(): ChildProcess | undefined;
  /** SIGTERM (redis flushes its append-only file on a clean shutdown) and wait for the exit */
  stop(): Promise<void>;
  /** start again on the same socket and data directory */
  start(): Promise<void>;
  /** stop and remove the data directory */
  close(): Promise<void>;
}

export async function startRedisServer({
  appendonly = true,
}: {
  appendonly?: boolean;
} = {}): Promise<RedisServer> {
  const dir = await shortTempDir('trd');
  const socket = join(dir, 'redis.sock');
  const url = `unix://${socket}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    const c = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--unixsocket',
        socket,
        '--unixsocketperm',
        '700',
        '--dir',
        dir,
        '--appendonly',
        appendonly ? 'yes' : 'no',
        '--save',
        '',
        '--logfile',
        join(dir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    child = c;
    let failure: string | undefined;
    exited = new Promise((res) => {
      c.once('error', (err) => {
        failure = err.message;
        res();
      });
      c.once('exit', (code, signal) => {
        failure ??= `redis-server exited (code ${code}, signal ${signal})`;
        res();
      });
    });
    const started = Date.now();
    const probe = new Redis({
      path: socket,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    try {
      for (;;) {
        if (failure)
          throw new Error(`redis-server did not start: ${failure} (see ${dir}/redis.log)`);
        if (
          await probe.connect().then(
            () => probe.ping(),
            () => undefined,
          )
        )
          return;
        if (Date.now() - started > 10_000)
          throw new Error(`redis-server did not answer on ${socket} within 10 s`);
        await sleep(50);
      }
    } finally {
      probe.disconnect();
    }
  };
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await within(exited, 10_000))) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  await start();
  return {
    url,
    socket,
    dir,
    process: () => child,
    stop,
    start,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The gateway as a child process

export interface GatewayProcessOptions {
  functions: Record<string, FunctionFiles>;
  redisUrl: string;
  /** merged into the `events:` section (key_prefix defaults to a fresh unique one) */
  events?: Record<string, unknown>;
  /** the engine this gateway uses (another host's, test/helpers/second-engine.ts); default DOCKER_HOST */
  dockerHost?: string;
}

export interface GatewayProcess {
  readonly dir: string;
  readonly functionsDir: string;
  readonly stateDir: string;
  readonly keyPrefix: string;
  readonly url: string;
  readonly pid: number | undefined;
  request(path: string, init?: RequestInit): Promise<Response>;
  health(): Promise<{ status: number; body: any }>;
  /** send a signal and wait for the process to exit */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** start again (new port, same functions, config and state directory) and wait until subscribed */
  restart(): Promise<void>;
  /** everything the gateway printed (the last 256 KB), across restarts */
  log(): string;
  /** the last lines of that, for failure messages */
  output(): string;
  /** SIGTERM (the gateway drains and removes its containers), then remove what a SIGKILL left behind */
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export async function startGatewayProcess(opts: GatewayProcessOptions): Promise<GatewayProcess> {
  const dir = await shortTempDir('tg');
  const functionsDir = join(dir, 'functions');
  const stateDir = join(dir, 's');
  await mkdir(functionsDir);
  for (const [folder, files] of Object.entries(opts.functions)) {
    await mkdir(join(functionsDir, folder));
    for (const [file, text] of Object.entries(files))
      await writeFile(join(functionsDir, folder, file), text);
  }
  const events = {
    key_prefix: uniquePrefix(),
    block_ms: 200,
    retry_base_ms: 50,
    embedded_redis: false,
    ...opts.events,
  };
  const configPath = join(dir, 'runtime.yaml');
  // JSON is YAML: no quoting surprises.
  await writeFile(
    configPath,
    JSON.stringify({ sandbox: { default_cpu: '1' }, pool: { idle_sec: 60 }, events }, null, 2),
  );

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let port = 0;
  let printed = '';
  const keep = (chunk: Buffer) => {
    printed += chunk.toString('utf8');
    if (printed.length > 512 * 1024) printed = printed.slice(-256 * 1024);
  };
  const log = () => printed.slice(-256 * 1024);
  const output = () => printed.trimEnd().split('\n').slice(-40).join('\n');
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const request = (path: string, init?: RequestInit) =>
    fetch(`http://127.0.0.1:${port}${path}`, init);
  const health = async () => {
    const res = await request('/healthz');
    return { status: res.status, body: await res.json() };
  };

  const spawnOnce = async () => {
    port = await freePort();
    const c = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        TITAN_CONFIG: configPath,
        TITAN_FUNCTIONS_DIR: functionsDir,
        TITAN_STATE_DIR: stateDir,
        TITAN_HOST: '127.0.0.1',
        TITAN_PORT: String(port),
        TITAN_OFFLINE: '1',
        TITAN_LOG_LEVEL: 'info',
        TITAN_ADMIN_TOKEN: '', // management routes open, as in the in-process harness
        REDIS_URL: opts.redisUrl,
        ...(opts.dockerHost ? { DOCKER_HOST: opts.dockerHost } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    c.stdout!.on('data', keep);
    c.stderr!.on('data', keep);
    exited = new Promise((res) => c.once('exit', () => res()));
    try {
      await waitFor(
        'the gateway to answer /healthz with triggers.state "subscribed" and every function ready',
        async () => {
          if (!running())
            throw new Error(`the gateway exited (code ${c.exitCode}, signal ${c.signalCode})`);
          const h = await health().catch(() => undefined);
          if (h?.status !== 200 || h.body.triggers?.state !== 'subscribed') return false;
          const { functions } = (await (await request('/functions')).json()) as {
            functions: Array<{ name: string; status: string }>;
          };
          return Object.keys(opts.functions).every((name) =>
            functions.some((f) => f.name === name && f.status === 'ready'),
          );
        },
        60_000,
        100,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- gateway output ---\n${output()}`);
    }
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (!running()) return;
    child!.kill(signal);
    await exited;
  };

  const close = async () => {
    if (running()) {
      child!.kill('SIGTERM');
      if (!(await within(exited, 20_000))) await kill('SIGKILL');
    }
    // A gateway killed with SIGKILL leaves its containers running: remove them (its label scope).
    const engine = opts.dockerHost ? engineAt(opts.dockerHost) : testEngine();
    const left = await engine
      .listByLabels({ [LABEL.managed]: 'true', [LABEL.scope]: scopeOf(stateDir) })
      .catch(() => []);
    await Promise.all(left.map((c) => engine.remove(c.id)));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await spawnOnce();
  } catch (err) {
    await close(); // the caller never gets a handle: leave nothing behind
    throw err;
  }
  return {
    dir,
    functionsDir,
    stateDir,
    keyPrefix: events.key_prefix as string,
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get pid() {
      return child?.pid;
    },
    request,
    health,
    kill,
    restart: async () => {
      if (running()) throw new Error('restart: the gateway is still running');
      await spawnOnce();
    },
    log,
    output,
    close,
  };
}

/** Fetch JSON; the status comes along so tests assert both. */
export async function json(
  res: Response | Promise<Response>,
): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await res;
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the assertion message
  }
  return { status: r.status, body, headers: r.headers };
}

/** The value of one sample in Prometheus text, e.g. metric('titan_invocations_total', { function: 'x', outcome: 'ok' }). */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[^{]+\{([^}]*)\}\s+(\S+)$/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries(
      [...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[2]);
  }
  return 0;
}
