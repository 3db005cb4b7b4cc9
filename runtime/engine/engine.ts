// The container engine as the rest of the runtime sees it. Only docker-engine.ts (and its parts) imports dockerode;
// pools, the registry and the gateway talk to this interface (and tests can fake it).
import type { Isolation } from './runtimes.ts';

export interface BindMount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

export interface TmpfsMount {
  containerPath: string;
  sizeBytes: number;
  /** octal permission bits, e.g. 0o1777 so a non-root user can write */
  mode: number;
  readOnly?: boolean;
}

/** Everything that decides how locked-down a container is; built by runtime/sandbox.ts. */
export interface ContainerSpec {
  name: string;
  image: string;
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  user: string;
  workdir: string;
  /** relative CPU weight under contention, in cores (1 core = 1024 shares) */
  cpuShare: number;
  /** hard CPU cap in cores */
  cpuLimit: number;
  memoryBytes: number;
  pidsLimit: number;
  binds: BindMount[];
  tmpfs: TmpfsMount[];
  /** the engine's own log file of the container: rotated at maxBytes, maxFiles kept */
  log: { maxBytes: number; maxFiles: number };
  /** these are fixed by policy, but spelled out so the engine adapter cannot forget them */
  readonlyRootfs: true;
  network: 'none';
  dropAllCapabilities: true;
  noNewPrivileges: true;
  /** the kernel between the function and the host: the engine's default runtime, or gVisor (runtimes.ts) */
  isolation: Isolation;
}

/** The resource limits of a container, which the engine can change while it runs (ContainerEngine.update). */
export type ContainerLimits = Pick<
  ContainerSpec,
  'cpuShare' | 'cpuLimit' | 'memoryBytes' | 'pidsLimit'
>;

export interface ExitInfo {
  exitCode: number;
  oomKilled: boolean;
}

export interface ContainerSummary {
  id: string;
  name: string;
  labels: Record<string, string>;
}

export interface EngineInfo {
  serverVersion: string;
  apiVersion: string;
  os: string;
  /** which engine answers (Podman says so in its /_ping); undefined from fakes */
  kind?: 'dockerd' | 'podman';
}

/** One line of a container's output, without its newline. */
export interface ContainerLogLine {
  stream: 'stdout' | 'stderr';
  text: string;
  /** epoch ms the engine received it */
  time: number;
}

export interface LogFollow {
  /** stop following now (lines not yet delivered are dropped) */
  stop(): void;
  /** resolves once following ended: stopped, the container gone, or the engine failed */
  readonly ended: Promise<void>;
}

export interface ContainerEngine {
  /** resolves when the engine answers; rejects with engine_unavailable otherwise */
  ping(): Promise<EngineInfo>;
  /** the names of the runtimes (OCI runtimes) the engine has registered, e.g. runc, runsc */
  runtimes(): Promise<string[]>;
  /** create and start; returns the container id */
  run(spec: ContainerSpec): Promise<string>;
  /**
   * Set a running container's limits to exactly these (memory without swap beyond it, as run() does).
   * Rejects when the engine refuses, e.g. a memory limit below what the container already uses.
   */
  update(id: string, limits: ContainerLimits): Promise<void>;
  /** force-remove; a container that is already gone counts as removed */
  remove(id: string): Promise<void>;
  /** resolves when the container exits (never rejects; an unknown container counts as exited) */
  waitExit(id: string): Promise<ExitInfo>;
  /** the last lines of a container's stdout and stderr, for error messages */
  logs(id: string, tail: number): Promise<string>;
  /**
   * Every line of a container's stdout and stderr, from its start and then as written, until it is
   * removed or `stop()` is called. Never throws: engine errors just end it.
   */
  followLogs(id: string, onLine: (line: ContainerLogLine) => void): LogFollow;
  listByLabels(labels: Record<string, string>): Promise<ContainerSummary[]>;
  /** the image's labels, or undefined when it is not present */
  imageLabels(ref: string): Promise<Record<string, string> | undefined>;
  /** pull from a registry; rejects when none can be reached within timeoutMs */
  pullImage(ref: string, timeoutMs: number): Promise<void>;
  /** build `tag` from a directory holding a Dockerfile (no registry needed for FROM scratch) */
  buildImage(contextDir: string, files: string[], tag: string, dockerfile?: string): Promise<void>;
}
