// Podman as the container engine: where its Docker-compatible socket usually is, how setup starts its
// API service with its storage under the state directory, and which engine a socket turns out to be.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineKind } from './locate.ts';

/** Where Podman's own service socket is when the system runs it (podman.socket, as root). */
export const ROOTFUL_PODMAN_SOCKET = '/run/podman/podman.sock';

/** Podman's usual sockets, in the order tried: the user's own (rootless), then the system's (rootful). */
export function podmanSockets(env: NodeJS.ProcessEnv, root = process.getuid?.() === 0): string[] {
  const rootless = env.XDG_RUNTIME_DIR
    ? [`unix://${join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock')}`]
    : [];
  return root
    ? [`unix://${ROOTFUL_PODMAN_SOCKET}`, ...rootless]
    : [...rootless, `unix://${ROOTFUL_PODMAN_SOCKET}`];
}

/** Which engine setup starts: TITAN_ENGINE=podman or =docker chooses; unset, setup picks (dockerd first). */
export function preferredEngine(env: NodeJS.ProcessEnv): EngineKind | undefined {
  const v = (env.TITAN_ENGINE ?? '').trim().toLowerCase();
  if (v === '') return undefined;
  if (v === 'podman') return 'podman';
  if (v === 'docker' || v === 'dockerd') return 'dockerd';
  throw new Error(
    `TITAN_ENGINE=${JSON.stringify(env.TITAN_ENGINE)} is not an engine: use docker or podman (or leave it unset)`,
  );
}

/** OCI runtimes in the order Podman is given them: runc, as dockerd uses, where it is installed. */
const RUNC_PATHS = [
  '/usr/sbin/runc',
  '/usr/bin/runc',
  '/usr/local/sbin/runc',
  '/usr/local/bin/runc',
];

/**
 * runc where it is installed: Podman's default, crun, fails on a cgroup v1 host ("cgroups in hybrid
 * mode not supported", Debian's crun 1.8.1), and with runc the two engines run containers alike.
 * Without runc, Podman's own default.
 */
export function podmanRuntime(exists: (p: string) => boolean = existsSync): string | undefined {
  return RUNC_PATHS.find(exists);
}

export interface PodmanPaths {
  /** images and containers (--root): under the state directory, so the user's own storage is left alone */
  root: string;
  /** run-time state (--runroot, --tmpdir): short, under /tmp, since conmon nests sockets in it */
  runRoot: string;
  socket: string;
}

/**
 * `podman system service` with its storage, run-time state and lock files apart from any other Podman
 * on the machine; --time=0 keeps it serving until stopped. No network is configured: containers run
 * with NetworkMode none.
 */
export function podmanServiceArgs(paths: PodmanPaths, runtime: string | undefined): string[] {
  return [
    ...(runtime ? ['--runtime', runtime] : []),
    '--root',
    paths.root,
    '--runroot',
    paths.runRoot,
    '--tmpdir',
    join(paths.runRoot, 'libpod'),
    'system',
    'service',
    '--time=0',
    `unix://${paths.socket}`,
  ];
}
