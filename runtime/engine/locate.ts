// Finds a container engine that answers (DOCKER_HOST, the default sockets, the one setup started),
// says in one sentence what to do when none does, and starts a private one for `npm run setup`.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineInfo } from './engine.ts';
import { DockerEngine } from './docker-engine.ts';
import { daemonConfigArgs } from './runtimes.ts';
import { dockerdArgs, spawnEngine } from './spawn-engine.ts';
import { podmanRuntime, podmanServiceArgs, podmanSockets, preferredEngine } from './podman.ts';

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
const START_TIMEOUT_MS = 30_000;
/** sun_path holds 108 bytes on Linux; stay clear of it. */
const MAX_SOCKET_PATH = 100;

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

const isRoot = () => process.getuid?.() === 0;
const installCommand = () => `${isRoot() ? '' : 'sudo '}apt-get install docker.io`;

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

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * An engine setup started earlier that is still running but no longer answers holds its pidfile and
 * socket, so a new one would refuse to start: stop it first. The pid is only trusted while the
 * process still has the recorded engine's name (pids are reused).
 */
async function stopStaleEngine(
  stateDir: string,
  kind: EngineKind,
  log: (s: string) => void,
): Promise<void> {
  const record = await readEngineRecord(stateDir);
  if (!record || record.kind !== kind || !alive(record.pid)) return;
  const comm = (await readFile(`/proc/${record.pid}/comm`, 'utf8').catch(() => '')).trim();
  if (comm !== kind) return;
  log(`stopping the ${kind} setup started earlier (pid ${record.pid}), which does not answer`);
  process.kill(record.pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(record.pid); i++) await sleep(200);
  if (alive(record.pid)) process.kill(record.pid, 'SIGKILL');
}

/** Socket and exec-root paths; the exec root is short and under /tmp because containerd nests sockets in it. */
function enginePaths(stateDir: string) {
  const dir = join(resolve(stateDir), 'engine');
  const execRoot = `/tmp/titan-engine-${createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 8)}`;
  const fits = (p: string) => Buffer.byteLength(p) < MAX_SOCKET_PATH;
  const socket = (name: string) => (fits(join(dir, name)) ? join(dir, name) : join(execRoot, name));
  return { dir, execRoot, socket };
}

/**
 * Starts dockerd (as root) or Podman's API service (TITAN_ENGINE=podman, or where dockerd cannot be
 * used) detached, so it outlives setup, and records it in `<stateDir>/engine.json`. Podman keeps its
 * images and containers under the state directory (podman.ts). dockerd's arguments: spawn-engine.ts.
 */
export async function startLocalEngine(
  stateDir: string,
  log: (s: string) => void,
): Promise<{ host: string; kind: EngineKind }> {
  const paths = enginePaths(stateDir);
  let kind: EngineKind;
  let args: string[];
  let socket: string;
  const preferred = preferredEngine(process.env);
  if (preferred === 'podman' && !(await onPath('podman'))) {
    throw new EngineNotInstalledError(`${isRoot() ? '' : 'sudo '}apt-get install podman runc`);
  }
  if (preferred !== 'podman' && isRoot() && (await onPath('dockerd'))) {
    kind = 'dockerd';
    socket = paths.socket('docker.sock');
    args = dockerdArgs(
      {
        dataRoot: join(paths.dir, 'data'),
        execRoot: paths.execRoot,
        socket,
        pidfile: join(paths.dir, 'docker.pid'),
      },
      // gVisor (runsc) registered when installed: functions with isolation gvisor run on this engine
      await daemonConfigArgs(paths.dir),
    );
  } else if (preferred !== 'dockerd' && (await onPath('podman'))) {
    kind = 'podman';
    socket = paths.socket('podman.sock');
    args = podmanServiceArgs(
      { root: join(paths.dir, 'podman'), runRoot: paths.execRoot, socket },
      podmanRuntime(),
    );
  } else if (!isRoot() && (await onPath('dockerd'))) {
    throw new Error(
      'dockerd needs root: run `sudo npm run setup`, or set DOCKER_HOST to an engine you can use',
    );
  } else {
    throw new EngineNotInstalledError(installCommand());
  }

  await mkdir(paths.dir, { recursive: true });
  await mkdir(paths.execRoot, { recursive: true, mode: 0o700 });
  await stopStaleEngine(stateDir, kind, log);
  const logFile = join(paths.dir, `${kind}.log`);
  const host = `unix://${socket}`;
  log(`starting ${kind} at ${host} (log: ${logFile})`);
  const { pid } = await spawnEngine({
    command: kind,
    args,
    host,
    logFile,
    timeoutMs: START_TIMEOUT_MS,
    detached: true,
    ping: pingHost,
  });
  const record: EngineRecord = {
    host,
    pid,
    kind,
    dataRoot: join(paths.dir, kind === 'dockerd' ? 'data' : 'podman'),
    execRoot: paths.execRoot,
    log: logFile,
  };
  await writeFile(join(stateDir, 'engine.json'), `${JSON.stringify(record, null, 2)}\n`);
  return { host, kind };
}
