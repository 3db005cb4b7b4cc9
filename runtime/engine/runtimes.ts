// How strongly a function is isolated from the host kernel, and which engine runtime (OCI runtime)
// gives it: `container` is the engine's default (runc), `gvisor` is gVisor's runsc, a user-space kernel
// between the function and the host. The only runtime names that ever reach the engine are these.
import { constants } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerEngine } from './engine.ts';

/** The isolations a config or manifest may ask for; nothing else (no engine runtime name) is accepted. */
export const ISOLATIONS = ['container', 'gvisor'] as const;
export type Isolation = (typeof ISOLATIONS)[number];

/** The name gVisor is registered under in the engine (daemon.json `runtimes`), and Debian's binary. */
export const GVISOR_RUNTIME = 'runsc';
export const RUNSC_PATH = '/usr/bin/runsc';

/**
 * runsc's flags. `--network=none`: the container has no network anyway (NetworkMode none), and runsc
 * refuses to start in the engine's root network namespace without it. `--host-uds=open`: the bootstrap
 * connects to the gateway's socket in the bind-mounted /run/titan; gVisor only lets a sandboxed process
 * reach a host socket with a --host-uds mode, and `open` (connect to an existing one) is the narrowest
 * that works: the function cannot create sockets on host mounts (`create`), which it never needs.
 */
export const RUNSC_ARGS = ['--network=none', '--host-uds=open'] as const;

/** The engine runtime a container of this isolation runs under; undefined: the engine's default (runc). */
export function engineRuntimeFor(isolation: Isolation): string | undefined {
  return isolation === 'gvisor' ? GVISOR_RUNTIME : undefined;
}

/** dockerd's config (daemon.json) fragment that registers runsc as setup registers it. */
export function daemonRuntimes(path = RUNSC_PATH): {
  runtimes: Record<string, { path: string; runtimeArgs: string[] }>;
} {
  return { runtimes: { [GVISOR_RUNTIME]: { path, runtimeArgs: [...RUNSC_ARGS] } } };
}

/** The snippet to add to /etc/docker/daemon.json (then restart dockerd), as one line. */
export const DAEMON_JSON_SNIPPET = JSON.stringify(daemonRuntimes());

/**
 * Why a function of this isolation cannot run on an engine that has these runtimes registered, or
 * undefined when it can. `registered` undefined: the engine did not say (it is not asked for runc).
 */
export function isolationProblem(
  isolation: Isolation,
  registered: readonly string[] | undefined,
): string | undefined {
  const runtime = engineRuntimeFor(isolation);
  if (runtime === undefined || registered?.includes(runtime)) return undefined;
  const has = registered
    ? `it has ${registered.join(', ') || 'none'}`
    : 'it did not list its runtimes';
  return (
    `isolation ${isolation} needs the container engine to have the ${runtime} runtime registered, and ${has}. ` +
    `Install gVisor (apt-get install runsc), add ${DAEMON_JSON_SNIPPET} to /etc/docker/daemon.json and restart dockerd ` +
    '(an engine `npm run setup` starts registers it by itself); or set isolation: container'
  );
}

const PODMAN_PROBLEM =
  "isolation gvisor cannot be chosen per container on Podman: its Docker-compatible API ignores a container's runtime, " +
  'so the function would run under runc. Use dockerd with runsc registered (`npm run setup` does it), or set isolation: container';

/** The stable start of the reason a function is invalid for, when its engine lacks its runtime. */
export const ISOLATION_UNAVAILABLE = 'isolation_unavailable';

/**
 * At deploy: why `engine` cannot run a function of this isolation (`isolation_unavailable: ...`, with
 * the daemon.json snippet), or undefined. The engine is asked only for gVisor, once per deploy.
 */
export async function refuseIsolation(
  engine: Pick<ContainerEngine, 'runtimes' | 'ping'>,
  isolation: Isolation,
): Promise<string | undefined> {
  if (engineRuntimeFor(isolation) === undefined) return undefined;
  // Podman (4.3, measured) lists runsc among its runtimes whether installed or not, and its
  // Docker-compatible API ignores a container's HostConfig.Runtime: the function would run under runc.
  if ((await engine.ping().catch(() => undefined))?.kind === 'podman')
    return `${ISOLATION_UNAVAILABLE}: ${PODMAN_PROBLEM}`;
  const registered = await engine.runtimes().catch(() => undefined);
  const problem = isolationProblem(isolation, registered);
  return problem && `${ISOLATION_UNAVAILABLE}: ${problem}`;
}

export const runscInstalled = (path = RUNSC_PATH): Promise<boolean> =>
  access(path, constants.X_OK).then(
    () => true,
    () => false,
  );

/**
 * For the dockerd setup starts: when runsc is installed, a daemon.json in the engine's directory that
 * registers it, and the flags that make dockerd read it; nothing otherwise (no gVisor to offer).
 */
export async function daemonConfigArgs(engineDir: string, runsc = RUNSC_PATH): Promise<string[]> {
  if (!(await runscInstalled(runsc))) return [];
  await mkdir(engineDir, { recursive: true });
  const file = join(engineDir, 'daemon.json');
  await writeFile(file, `${JSON.stringify(daemonRuntimes(runsc), null, 2)}\n`);
  return ['--config-file', file];
}

/** For `npm run setup`: whether `isolation: gvisor` functions can run on this engine, in one line. */
export async function gvisorStatus(
  engine: Pick<ContainerEngine, 'runtimes' | 'ping'>,
): Promise<{ ok: boolean; line: string }> {
  if ((await engine.ping().catch(() => undefined))?.kind === 'podman')
    return { ok: false, line: `gVisor: ${PODMAN_PROBLEM}` };
  const registered = await engine.runtimes().catch(() => undefined);
  if (registered?.includes(GVISOR_RUNTIME)) {
    return {
      ok: true,
      line: `gVisor: ${GVISOR_RUNTIME} registered with the engine (${RUNSC_ARGS.join(' ')}); isolation: gvisor can run`,
    };
  }
  const why = (await runscInstalled())
    ? `runsc is installed but this engine does not have it registered (it was started before, or you run it): add ${DAEMON_JSON_SNIPPET} to its daemon.json and restart it`
    : 'runsc is not installed (apt-get install runsc, then `npm run setup` again)';
  return {
    ok: false,
    line: `gVisor: ${why}; functions with isolation: gvisor are invalid until then`,
  };
}
