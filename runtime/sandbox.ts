// The lock-down policy for every function container, in one place: what is mounted, what limits
// apply and what the process may do. Produces an engine-neutral ContainerSpec.
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerSpec } from './engine/engine.ts';
import type { FunctionSpec, Runtime } from './spec.ts';
import type { RuntimeConfig } from './config.ts';
import { parseMemory } from './quantity.ts';

/** Where the bootstrap ships; the registry copies it into the state directory (see installBootstrap). */
export const BOOTSTRAP_SOURCE = fileURLToPath(new URL('./bootstrap/', import.meta.url));
export const CONTAINER_SOCKET_DIR = '/run/titan';
export const CONTAINER_SOCKET = `${CONTAINER_SOCKET_DIR}/fn.sock`;
export const SOCKET_FILE = 'fn.sock';
/** A built handler's output (runtime/build.ts), mounted read-only beside the untouched folder at /fn. */
export const BUILD_MOUNT = '/fn-build';

/** Labels every container carries; `titan.scope` ties it to one gateway's state directory. */
export const LABEL = {
  managed: 'titan.managed',
  scope: 'titan.scope',
  fn: 'titan.function',
  version: 'titan.version',
} as const;

/**
 * Function containers mount the bootstrap from the state directory, not from the source tree: when
 * the gateway itself runs in a container, only directories shared with the host (the functions and
 * state directories, mounted at the same paths) can be bind-mounted into function containers.
 */
export async function installBootstrap(stateDir: string): Promise<string> {
  const dir = join(stateDir, 'bootstrap');
  await mkdir(dir, { recursive: true });
  await cp(BOOTSTRAP_SOURCE, dir, { recursive: true, force: true });
  return dir;
}

export interface SandboxLimits {
  /** host directory holding the bootstrap (installBootstrap) */
  bootstrapDir: string;
  user: string;
  pidsLimit: number;
  tmpBytes: number;
  /** the engine's log file per container: rotated at this size, this many kept */
  logMaxBytes: number;
  logMaxFiles: number;
  /** longest answer the gateway accepts from a container */
  maxResponseBytes: number;
}

/** The limits the config sets for every function container. */
export function sandboxLimits(config: Pick<RuntimeConfig, 'sandbox' | 'state_dir'>): SandboxLimits {
  const sb = config.sandbox;
  return {
    user: sb.user,
    pidsLimit: sb.pids_limit,
    tmpBytes: parseMemory(sb.tmp_size),
    bootstrapDir: join(config.state_dir, 'bootstrap'),
    logMaxBytes: parseMemory(sb.log_max_size),
    logMaxFiles: sb.log_max_files,
    maxResponseBytes: sb.max_response_bytes,
  };
}

export interface SandboxPlacement {
  containerName: string;
  /** host directory holding the gateway's socket, bind-mounted read-only at /run/titan; the bootstrap dials in */
  socketDir: string;
  scope: string;
}

/** How each runtime's bootstrap starts (the interpreter is found on the image's PATH). */
const BOOTSTRAP: Record<Runtime, Pick<ContainerSpec, 'entrypoint' | 'cmd'>> = {
  node: { entrypoint: ['node'], cmd: ['/titan/node.mjs'] },
  python: { entrypoint: ['python3'], cmd: ['/titan/python.py'] },
};
const RUNTIME_ENV: Record<Runtime, Record<string, string>> = {
  node: { NODE_ENV: 'production' },
  // The root filesystem and /fn are read-only: no .pyc files; and output reaches the logs per line.
  python: { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
};

export function containerSpecFor(fn: FunctionSpec, limits: SandboxLimits, at: SandboxPlacement): ContainerSpec {
  return {
    name: at.containerName,
    image: fn.image,
    ...BOOTSTRAP[fn.runtime],
    env: {
      ...fn.env,
      HOME: '/tmp',
      ...RUNTIME_ENV[fn.runtime],
      TITAN_SOCKET: CONTAINER_SOCKET,
      TITAN_HANDLER: fn.build ? `${BUILD_MOUNT}/${fn.build.handler}` : `/fn/${fn.handler}`,
      TITAN_FUNCTION: fn.name,
      // the manifest's `config:` (context.config) and where permissions.fs mounted the allowed paths
      TITAN_FUNCTION_CONFIG: JSON.stringify(fn.config),
      TITAN_FS_ALLOW: JSON.stringify(fn.fs.mounts.map((m) => m.containerPath)),
      // stack traces of a built handler point at its sources under /fn
      ...(fn.build ? { NODE_OPTIONS: [fn.env.NODE_OPTIONS, '--enable-source-maps'].filter(Boolean).join(' ') } : {}),
    },
    labels: {
      [LABEL.managed]: 'true',
      [LABEL.scope]: at.scope,
      [LABEL.fn]: fn.name,
      [LABEL.version]: fn.version,
    },
    user: limits.user,
    workdir: '/fn',
    cpuShare: fn.cpu,
    cpuLimit: fn.cpuLimit,
    memoryBytes: fn.memoryBytes,
    pidsLimit: limits.pidsLimit,
    binds: [
      { hostPath: fn.dir, containerPath: '/fn', readOnly: true },
      ...(fn.build ? [{ hostPath: fn.build.dir, containerPath: BUILD_MOUNT, readOnly: true }] : []),
      { hostPath: limits.bootstrapDir, containerPath: '/titan', readOnly: true },
      { hostPath: at.socketDir, containerPath: CONTAINER_SOCKET_DIR, readOnly: true },
      ...fn.fs.mounts.map((m) => ({ hostPath: m.hostPath, containerPath: m.containerPath, readOnly: true })),
    ],
    tmpfs: [
      { containerPath: '/tmp', sizeBytes: limits.tmpBytes, mode: 0o1777 },
      // `deny` inside an allowed mount: cover it with an empty, read-only tmpfs
      ...fn.fs.masks.map((p) => ({ containerPath: p, sizeBytes: 4096, mode: 0o555, readOnly: true })),
    ],
    log: { maxBytes: limits.logMaxBytes, maxFiles: limits.logMaxFiles },
    readonlyRootfs: true,
    network: 'none',
    dropAllCapabilities: true,
    noNewPrivileges: true,
  };
}
