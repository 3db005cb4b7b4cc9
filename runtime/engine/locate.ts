// Finds a container engine that answers (DOCKER_HOST, the default sockets, the one setup started),
// says in one sentence what to do when none does. Starting one for `npm run setup`: start-local.ts.
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineInfo } from './engine.ts';
import { DockerEngine } from './docker-engine.ts';
import { podmanSockets, preferredEngine } from './podman.ts';

/** Connection options as `new DockerEngine(options)` takes them. */
export type EngineOptions =
  | { socketPath: string }
  | { host: string; port: number; protocol: 'http' };

export type EngineKind = 'dockerd' | 'podman';
export type EngineSource = 'DOCKER_HOST' | 'default socket' | 'started by setup';

export interface LocatedEngine {
  host: string;
  source: EngineSource;
  /** known for the engine setup started and for Podman's socket; otherwise undefined */
  kind?: EngineKind;
  info: EngineInfo;
}

/** `<stateDir>/engine.json`: what `startLocalEngine` started, so later runs reuse it and CI can stop it. */
export interface EngineRecord {
  host: string;
  pid: number;
  kind: EngineKind;
  /** dockerd's --data-root, Podman's --root */
  dataRoot: string | null;
  /** dockerd's --exec-root, Podman's --runroot: what CI unmounts and removes after stopping it */
  execRoot: string | null;
  log: string;
}

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
const PING_TIMEOUT_MS = 2_000;

export function engineOptionsFromHost(host: string): EngineOptions {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const tcp = /^tcp:\/\/\[?([^\]]+?)\]?:(\d+)\/?$/.exec(host);
  if (tcp) return { host: tcp[1], port: Number(tcp[2]), protocol: 'http' };
  throw new Error(
    `unsupported engine address ${JSON.stringify(host)}: use unix:///path/to/socket or tcp://host:port`,
  );
}

/** A client of the engine at `host` (unix:///path or tcp://host:port). */
export const engineAt = (host: string): DockerEngine =>
  new DockerEngine(engineOptionsFromHost(host));

/** The engine this process should use (locateEngine), with its client; undefined when none answers. */
export async function connectEngine(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ found: LocatedEngine; engine: DockerEngine } | undefined> {
  const found = await locateEngine(stateDir, env);
  return found && { found, engine: engineAt(found.host) };
}

/** The engine's version when it answers within the timeout; undefined otherwise (never throws). */
export async function pingHost(
  host: string,
  timeoutMs = PING_TIMEOUT_MS,
): Promise<EngineInfo | undefined> {
  let options: EngineOptions;
  try {
    options = engineOptionsFromHost(host);
  } catch {
    return undefined;
  }
  const ac = new AbortController();
  const timeout = sleep(timeoutMs, undefined, { signal: ac.signal }).catch(() => undefined);
  try {
    // docker-modem's own timeout covers a hung request; the race covers a hung connect.
    const ping = new DockerEngine({ ...options, timeout: timeoutMs }).ping().catch(() => undefined);
    return await Promise.race([ping, timeout]);
  } finally {
    ac.abort();
  }
}

export async function readEngineRecord(stateDir: string): Promise<EngineRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, 'engine.json'), 'utf8')) as EngineRecord;
  } catch {
    return undefined;
  }
}

/**
 * DOCKER_HOST, when set, is the only candidate: someone chose it, so another engine must not stand in.
 * TITAN_ENGINE=podman (or docker) keeps only the candidates of that engine.
 */
export async function locateEngine(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocatedEngine | undefined> {
  if (env.DOCKER_HOST) {
    const info = await pingHost(env.DOCKER_HOST);
    return info && { host: env.DOCKER_HOST, source: 'DOCKER_HOST', kind: info.kind, info };
  }
  const record = await readEngineRecord(stateDir);
  const preferred = preferredEngine(env);
  const candidates: Array<Omit<LocatedEngine, 'info'>> = [
    { host: `unix://${DEFAULT_DOCKER_SOCKET}`, source: 'default socket', kind: 'dockerd' },
    ...(record
      ? [{ host: record.host, source: 'started by setup' as const, kind: record.kind }]
      : []),
    ...podmanSockets(env).map((host) => ({
      host,
      source: 'default socket' as const,
      kind: 'podman' as const,
    })),
  ];
  for (const c of candidates) {
    const info = await pingHost(c.host);
    // The default Docker socket may be Podman's (podman-docker links it): the engine says which it is.
    const kind = info?.kind ?? c.kind;
    if (info && (!preferred || kind === preferred)) return { ...c, kind, info };
  }
  return undefined;
}

export async function onPath(cmd: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  for (const dir of (env.PATH ?? '').split(':').filter(Boolean)) {
    if (
      await access(join(dir, cmd), constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  return false;
}

export const isRoot = () => process.getuid?.() === 0;
export const installCommand = () => `${isRoot() ? '' : 'sudo '}apt-get install docker.io`;

/** Thrown when neither dockerd nor Podman is installed; `command` is the one that installs an engine. */
export class EngineNotInstalledError extends Error {
  readonly command: string;
  constructor(command: string) {
    super(`No container engine is installed; install one with: ${command}`);
    this.name = 'EngineNotInstalledError';
    this.command = command;
  }
}

/** One sentence for when locateEngine found nothing: what is wrong and the next thing to run. */
export async function describeNoEngine(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  if (env.DOCKER_HOST) {
    try {
      engineOptionsFromHost(env.DOCKER_HOST);
    } catch (err) {
      return `No container engine answers: DOCKER_HOST has an ${(err as Error).message}`;
    }
    return `No container engine answers: DOCKER_HOST=${env.DOCKER_HOST} does not respond (start that engine, or unset DOCKER_HOST and run \`npm run setup\`)`;
  }
  const record = await readEngineRecord(stateDir);
  if (record) {
    return `No container engine answers: the ${record.kind} that setup started (pid ${record.pid}, ${record.host}) is not running; run \`npm run setup\` to start it again (log: ${record.log})`;
  }
  if ((await onPath('dockerd', env)) || (await onPath('podman', env))) {
    return 'No container engine answers; run `npm run setup` to start one (or set DOCKER_HOST)';
  }
  return new EngineNotInstalledError(installCommand()).message;
}
