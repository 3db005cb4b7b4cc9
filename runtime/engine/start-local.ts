import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { daemonConfigArgs } from './runtimes.ts';
import { dockerdArgs, spawnEngine } from './spawn-engine.ts';
import { podmanRuntime, podmanServiceArgs, preferredEngine } from './podman.ts';
import {
  EngineNotInstalledError,
  installCommand,
  isRoot,
  onPath,
  pingHost,
  readEngineRecord,
  type EngineKind,
  type EngineRecord,
} from './locate.ts';

const START_TIMEOUT_MS = 30_000;
/** sun_path holds 108 bytes on Linux; stay clear of it. */
const MAX_SOCKET_PATH = 100;

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
