// Starting an engine process: dockerd's arguments (no bridge, no iptables, its own roots), and the
// spawn that waits, within a bound, until the engine answers. Used by `npm run setup`
// (locate.ts startLocalEngine) and by the tests' second engine (test/helpers/second-engine.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineInfo } from './engine.ts';

export interface DockerdPaths {
  dataRoot: string;
  /** short and under /tmp: containerd nests sockets in it */
  execRoot: string;
  socket: string;
  pidfile: string;
}

/**
 * dockerd without a bridge or iptables rules: containers use NetworkMode none, so the engine must
 * not touch the host's network. dockerd 20.10 starts its own containerd (or uses a system one at
 * /run/containerd), so no --containerd is passed. `extra`: e.g. daemonConfigArgs (gVisor).
 */
export function dockerdArgs(p: DockerdPaths, extra: string[] = []): string[] {
  return [
    '--bridge=none',
    '--iptables=false',
    '--ip-forward=false',
    '--data-root',
    p.dataRoot,
    '--exec-root',
    p.execRoot,
    '-H',
    `unix://${p.socket}`,
    '--pidfile',
    p.pidfile,
    ...extra,
  ];
}

export interface SpawnedEngine {
  child: ChildProcess;
  pid: number;
}

/**
 * Spawn `command args` with its output appended to `logFile`, and wait until `ping(host)` answers.
 * `detached`: a process group of its own that outlives this one (setup). On failure (it exited, or
 * did not answer within `timeoutMs`) the error carries the measured wait and the log's last lines.
 */
export async function spawnEngine(opts: {
  command: string;
  args: string[];
  host: string;
  logFile: string;
  timeoutMs: number;
  detached: boolean;
  ping: (host: string, timeoutMs: number) => Promise<EngineInfo | undefined>;
}): Promise<SpawnedEngine> {
  const { command, args, host, logFile, timeoutMs } = opts;
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { detached: opts.detached, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited: string | undefined;
  child.on(
    'exit',
    (code, signal) => (exited = signal ? `was killed by ${signal}` : `exited with code ${code}`),
  );
  child.on('error', (err) => (exited = `could not be started (${err.message})`));
  if (opts.detached) child.unref();

  const started = Date.now();
  while (!(await opts.ping(host, 1_000))) {
    const waited = Date.now() - started;
    if (exited || waited > timeoutMs) {
      if (!exited) child.kill('SIGTERM');
      const tail = (await readFile(logFile, 'utf8').catch(() => ''))
        .trimEnd()
        .split('\n')
        .slice(-15)
        .join('\n');
      throw new Error(
        `${command} ${exited ?? `did not answer within ${waited} ms`}; last lines of ${logFile}:\n${tail}`,
      );
    }
    await sleep(200);
  }
  return { child, pid: child.pid! };
}
