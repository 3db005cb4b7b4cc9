// A second container engine for tests that play several hosts: a private dockerd of this test
// process (its own data root, exec root, pidfile and socket under /tmp/hosts-*, no bridge, no
// iptables), started with the arguments setup uses (runtime/engine/spawn-engine.ts), given the
// runtime images of the main engine (image save → load through the two engines' APIs), and stopped
// by its own PID on close, with its directories removed.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { defaultConfig } from '../../runtime/config.ts';
import type { DockerEngine } from '../../runtime/engine/docker-engine.ts';
import { engineAt, engineOptionsFromHost, onPath, pingHost } from '../../runtime/engine/locate.ts';
import { dockerdArgs, spawnEngine } from '../../runtime/engine/spawn-engine.ts';

const run = promisify(execFile);
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

export interface SecondEngine {
  /** unix:///tmp/hosts-…/docker.sock */
  host: string;
  engine: DockerEngine;
  pid: number;
  /** stop this dockerd (SIGTERM, then SIGKILL after 30 s) and remove its directories */
  close(): Promise<void>;
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
 * Start the engine and copy the runtime images into it from `from` (default DOCKER_HOST): the node
 * image is required, the python image copied when the main engine has it. Throws a sentence saying
 * what is missing when dockerd cannot be used here.
 */
export async function startSecondEngine({
  from = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
}: {
  from?: string;
} = {}): Promise<SecondEngine> {
  if (process.getuid?.() !== 0)
    throw new Error('a second engine for the multi-host tests needs dockerd, which needs root');
  if (!(await onPath('dockerd')))
    throw new Error(
      'a second engine for the multi-host tests needs dockerd on the PATH (apt-get install docker.io)',
    );
  const dir = await mkdtemp('/tmp/hosts-');
  const execRoot = join(dir, 'x');
  await mkdir(execRoot, { mode: 0o700 });
  const socket = join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  const args = dockerdArgs({
    dataRoot: join(dir, 'data'),
    execRoot,
    socket,
    pidfile: join(dir, 'docker.pid'),
  });
  let pid: number | undefined;
  // Should the test process exit without closing it (a hook that never ran): no dockerd of a test
  // outlives the test. 'exit' handlers cannot await: kill, unmount and remove synchronously.
  const onExit = () => {
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    try {
      for (const m of mountsUnder(dir, readFileSync('/proc/mounts', 'utf8')))
        execFileSync('umount', ['-l', m]);
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // leave the directory rather than fail the exit
    }
  };
  process.once('exit', onExit);

  const close = async () => {
    process.removeListener('exit', onExit);
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGTERM');
      const until = Date.now() + STOP_TIMEOUT_MS;
      while (alive(pid) && Date.now() < until) await sleep(100);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      while (alive(pid)) await sleep(50);
    }
    // dockerd stops the containerd it started on a clean shutdown; after a SIGKILL it may linger.
    const cpid = Number(
      await readFile(join(execRoot, 'containerd', 'containerd.pid'), 'utf8').catch(() => ''),
    );
    if (cpid > 0 && alive(cpid)) process.kill(cpid, 'SIGKILL');
    // Mounts left under its roots (container rootfs, netns files) would make rm fail: deepest first.
    for (const m of mountsUnder(dir, await readFile('/proc/mounts', 'utf8')))
      await run('umount', ['-l', m]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const spawned = await spawnEngine({
      command: 'dockerd',
      args,
      host,
      logFile: join(dir, 'dockerd.log'),
      timeoutMs: START_TIMEOUT_MS,
      detached: false,
      ping: pingHost,
    });
    pid = spawned.pid;
    spawned.child.unref(); // its exit is awaited by PID in close(), never by keeping this loop alive
    const { image, pythonImage } = defaultConfig().sandbox;
    await copyImage(from, host, image);
    await copyImage(from, host, pythonImage).catch(() => {}); // optional: python tests only
  } catch (err) {
    await close();
    throw err;
  }
  return { host, engine: engineAt(host), pid, close };
}

/** Mount points under `dir` in /proc/mounts, deepest first. */
const mountsUnder = (dir: string, mounts: string): string[] =>
  mounts
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort()
    .reverse();

const requestOptions = (host: string): RequestOptions => {
  const o = engineOptionsFromHost(host);
  return 'socketPath' in o ? { socketPath: o.socketPath } : { host: o.host, port: o.port };
};

/** `GET /images/{ref}/get` on one engine piped into `POST /images/load` on the other. */
async function copyImage(fromHost: string, toHost: string, ref: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const get = request(
      {
        ...requestOptions(fromHost),
        method: 'GET',
        path: `/images/${encodeURIComponent(ref)}/get`,
      },
      (tar) => {
        if (tar.statusCode !== 200) {
          tar.resume();
          reject(new Error(`image ${ref}: the main engine answered ${tar.statusCode} to a save`));
          return;
        }
        const load = request(
          {
            ...requestOptions(toHost),
            method: 'POST',
            path: '/images/load?quiet=1',
            headers: { 'content-type': 'application/x-tar' },
          },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () =>
              res.statusCode === 200 && !body.includes('"error"')
                ? resolve()
                : reject(new Error(`image ${ref}: load answered ${res.statusCode} ${body}`)),
            );
          },
        );
        load.on('error', reject);
        tar.pipe(load);
      },
    );
    get.on('error', reject);
    get.end();
  });
  if (!(await engineAt(toHost).imageLabels(ref)))
    throw new Error(`image ${ref} is not on the second engine after loading it`);
}
