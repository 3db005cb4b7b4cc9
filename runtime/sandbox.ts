// The lock-down policy for every function container, in one place: what is mounted, what limits
// apply and what the process may do. Produces an engine-neutral ContainerSpec.
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerLimits, ContainerSpec } from './engine/engine.ts';
import type { FunctionSpec, Runtime } from './spec.ts';
import type { RuntimeConfig } from './config.ts';
import { CONTAINER_SOCKET, CONTAINER_SOCKET_DIR } from './protocol.ts';
import { parseCpu, parseMemory } from './quantity.ts';
import { SECRETS_MOUNT } from './secrets.ts';

/** Where the bootstrap ships; the registry copies it into the state directory (see installBootstrap). */
export const BOOTSTRAP_SOURCE = fileURLToPath(new URL('./bootstrap/', import.meta.url));
/** A built handler's output (runtime/build.ts), mounted read-only beside the untouched folder at /fn. */
export const BUILD_MOUNT = '/fn-build';

/** Labels every container carries; `titan.scope` ties it to one gateway's state directory. */
export const LABEL = {
  managed: 'titan.managed',
  scope: 'titan.scope',
  fn: 'titan.function',
  version: 'titan.version',
  /** a stem cell (runtime/stem-cells/), by runtime: it carries no function label, ever (see stem-cell.ts) */
  stem: 'titan.stem',
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
  /** what a function whose manifest sets no resources gets: the limits stem cells are made with */
  defaultLimits: ContainerLimits;
}

/** The limits the config sets for every function container. */
export function sandboxLimits(config: Pick<RuntimeConfig, 'sandbox' | 'stateDir'>): SandboxLimits {
  const sb = config.sandbox;
  return {
    defaultLimits: {
      cpuShare: parseCpu(sb.defaultCpu),
      cpuLimit: parseCpu(sb.defaultCpuLimit),
      memoryBytes: parseMemory(sb.defaultMemory),
      pidsLimit: sb.pidsLimit,
    },
    user: sb.user,
    pidsLimit: sb.pidsLimit,
    tmpBytes: parseMemory(sb.tmpSize),
    bootstrapDir: join(config.stateDir, 'bootstrap'),
    logMaxBytes: parseMemory(sb.logMaxSize),
    logMaxFiles: sb.logMaxFiles,
    maxResponseBytes: sb.maxResponseBytes,
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

/** The environment a function's process runs with, besides the image's own variables. */
export function functionEnv(fn: FunctionSpec): Record<string, string> {
  return {
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
    ...(fn.build
      ? { NODE_OPTIONS: [fn.env.NODE_OPTIONS, '--enable-source-maps'].filter(Boolean).join(' ') }
      : {}),
  };
}

export function functionLimits(fn: FunctionSpec, limits: SandboxLimits): ContainerLimits {
  return {
    cpuShare: fn.cpu,
    cpuLimit: fn.cpuLimit,
    memoryBytes: fn.memoryBytes,
    pidsLimit: limits.pidsLimit,
  };
}

/**
 * What every container shares, function container or stem cell alike: user, read-only root, no
 * network, no capabilities, /tmp, the bootstrap and the socket directory. One place, so a stem cell
 * specialized for a function cannot end up with a weaker sandbox than the function's own container.
 */
function lockedDown(limits: SandboxLimits, at: SandboxPlacement) {
  return {
    user: limits.user,
    workdir: '/fn',
    sharedBinds: [
      { hostPath: limits.bootstrapDir, containerPath: '/titan', readOnly: true },
      { hostPath: at.socketDir, containerPath: CONTAINER_SOCKET_DIR, readOnly: true },
    ],
    tmp: { containerPath: '/tmp', sizeBytes: limits.tmpBytes, mode: 0o1777 },
    log: { maxBytes: limits.logMaxBytes, maxFiles: limits.logMaxFiles },
    readonlyRootfs: true,
    network: 'none',
    dropAllCapabilities: true,
    noNewPrivileges: true,
  } as const;
}

export function containerSpecFor(
  fn: FunctionSpec,
  limits: SandboxLimits,
  at: SandboxPlacement,
): ContainerSpec {
  const { sharedBinds, tmp, ...base } = lockedDown(limits, at);
  return {
    name: at.containerName,
    image: fn.image,
    ...BOOTSTRAP[fn.runtime],
    env: functionEnv(fn),
    labels: {
      [LABEL.managed]: 'true',
      [LABEL.scope]: at.scope,
      [LABEL.fn]: fn.name,
      [LABEL.version]: fn.version,
    },
    ...functionLimits(fn, limits),
    ...base,
    isolation: fn.isolation,
    binds: [
      { hostPath: fn.dir, containerPath: '/fn', readOnly: true },
      ...(fn.build ? [{ hostPath: fn.build.dir, containerPath: BUILD_MOUNT, readOnly: true }] : []),
      ...sharedBinds,
      ...fn.fs.mounts.map((m) => ({
        hostPath: m.hostPath,
        containerPath: m.containerPath,
        readOnly: true,
      })),
      // each secret a file of its own: nothing else of the secret copies is visible
      ...(fn.secretsDir
        ? fn.secrets.map((s) => ({
            hostPath: join(fn.secretsDir!, s),
            containerPath: `${SECRETS_MOUNT}/${s}`,
            readOnly: true,
          }))
        : []),
    ],
    tmpfs: [
      tmp,
      // `deny` inside an allowed mount: cover it with an empty, read-only tmpfs
      ...fn.fs.masks.map((p) => ({
        containerPath: p,
        sizeBytes: 4096,
        mode: 0o555,
        readOnly: true,
      })),
    ],
  };
}

export interface StemPlacement extends SandboxPlacement {
  /** the cell's own empty host directories, mounted read-only at /fn and /fn-build; filled at specialization */
  codeDir: string;
  buildDir: string;
}

/**
 * A stem cell: the runtime's bootstrap with no function, in a container locked down as every function
 * container is, with the default limits. Its /fn and /fn-build are its own empty directories; its
 * environment names no function (the bootstrap waits for a specialize request).
 */
export function stemCellSpecFor(
  runtime: Runtime,
  image: string,
  limits: SandboxLimits,
  at: StemPlacement,
): ContainerSpec {
  const { sharedBinds, tmp, ...base } = lockedDown(limits, at);
  return {
    name: at.containerName,
    image,
    ...BOOTSTRAP[runtime],
    env: { HOME: '/tmp', ...RUNTIME_ENV[runtime], TITAN_SOCKET: CONTAINER_SOCKET, TITAN_STEM: '1' },
    labels: { [LABEL.managed]: 'true', [LABEL.scope]: at.scope, [LABEL.stem]: runtime },
    ...limits.defaultLimits,
    ...base,
    // runc: a function asking for gVisor never takes a stem cell (cold-start-route.ts)
    isolation: 'container',
    binds: [
      { hostPath: at.codeDir, containerPath: '/fn', readOnly: true },
      { hostPath: at.buildDir, containerPath: BUILD_MOUNT, readOnly: true },
      ...sharedBinds,
    ],
    tmpfs: [tmp],
  };
}
