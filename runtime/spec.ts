// The resolved form of a function: a validated manifest with every default applied.
// Produced by runtime/manifest.ts, consumed by the sandbox, the pools and the registry.
import type { Isolation } from './engine/runtimes.ts';
import type { ScheduleSpec } from './schedule.ts';

export interface PoolSettings {
  min: number;
  max: number;
  /** invocations one container serves at once */
  concurrency: number;
  /** idle containers above `min` stop after this long */
  idleSec: number;
}

export interface TriggerSpec {
  topic: string;
  /** exact type, `*`, or undefined for all */
  eventType?: string;
}

/** What a mounted host path was at deploy: `missing` paths are created by the engine, as directories. */
export type MountKind = 'directory' | 'file' | 'missing';

export interface FsMount {
  /** absolute real host path of an allowed directory (or file) */
  hostPath: string;
  /** where the function sees it (same absolute path as on the host) */
  containerPath: string;
  /** the real path, at deploy, of the sandbox.fs_roots entry holding it: every container start checks both again */
  root: string;
  kind: MountKind;
}

/** The methods `/function/<name>` takes; any other method is 405 there, and is no metrics label value. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** The languages a handler may be written in; each has its bootstrap in runtime/bootstrap/. */
export type Runtime = 'node' | 'python';

export interface FunctionSpec {
  name: string;
  version: string;
  runtime: Runtime;
  /** absolute path of the function folder on the host */
  dir: string;
  /** handler file, relative to `dir` */
  handler: string;
  /** set by runtime/build.ts for handlers that need a build step (TypeScript): the module containers load instead */
  build?: HandlerBuild;
  image: string;
  /** the manifest's `isolation:` or the config's sandbox.isolation: runc or gVisor (engine/runtimes.ts) */
  isolation: Isolation;
  triggers: TriggerSpec[];
  /** attempts per event before the DLQ; unset means the runtime config's events.max_attempts */
  maxAttempts?: number;
  /** guaranteed CPU share in cores (0.05 for "50m"), like a Kubernetes request: a weight under contention */
  cpu: number;
  /** hard CPU cap in cores (CFS quota), like a Kubernetes limit */
  cpuLimit: number;
  memoryBytes: number;
  timeoutMs: number;
  pool: PoolSettings;
  fs: { mounts: FsMount[]; masks: string[] };
  env: Record<string, string>;
  /** the manifest's `secrets:`, by name: each is mounted read-only at /run/secrets/<name> (runtime/secrets.ts) */
  secrets: string[];
  /** set at deploy: this deployment's own copies of its secrets, one file per name */
  secretsDir?: string;
  /** the manifest's `config:`, given to the handler as `context.config` */
  config: Record<string, unknown>;
  /** `token`: invoking it over HTTP needs the admin bearer token too */
  auth: 'none' | 'token';
  /** the manifest's `schedule:`; absent: never run on a schedule */
  schedule?: ScheduleSpec;
  /** the manifest's `http:`; absent: `/function/<name>` takes every method of HTTP_METHODS */
  http?: { methods: HttpMethod[] };
  /** hash of the parsed manifest: live pool overrides hold only while it is unchanged */
  manifestHash: string;
}

export interface HandlerBuild {
  /** absolute host path of this deployment's build output, mounted read-only beside the function folder */
  dir: string;
  /** the built module, relative to `dir` */
  handler: string;
}
