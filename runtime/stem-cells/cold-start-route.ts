// Which path a function's cold starts take: a stem cell specialized for it, or a container of its own
// (the classic start), and why. Only what can be given to a running container is specialized: code
// (runtime/stem-cells/code-dir.ts), environment (the bootstrap sets it before loading the handler) and
// limits (the engine's update API). A mount, another image or an environment variable that only a
// starting process reads cannot be, and a weaker sandbox is never the answer: those start classically.
import type { ContainerLimits } from '../engine/engine.ts';
import type { FunctionSpec, Runtime } from '../spec.ts';

export type ColdStartPath = 'stem_cell' | 'container';

export interface ColdStartRoute {
  path: ColdStartPath;
  /** said in GET /functions/:name */
  reason: string;
}

/** What the stem cells of one runtime are: how many are kept, their image and their limits. */
export interface StemCellKind {
  min: number;
  image: string;
  limits: ContainerLimits;
}

/**
 * Environment variables read only when a process starts (the interpreter's options, the dynamic
 * loader, the C library's allocator and locale), so setting them in a running bootstrap would do
 * nothing. NODE_ENV is the exception among NODE_*: Node itself never reads it.
 */
const STARTUP_ONLY: Record<Runtime, RegExp> = {
  node: /^(NODE_(?!ENV$)|UV_|OPENSSL_|SSL_CERT_|LD_|MALLOC_|GLIBC_TUNABLES$|LANG$|LANGUAGE$|LC_)/,
  python: /^(PYTHON|LD_|MALLOC_|GLIBC_TUNABLES$|LANG$|LANGUAGE$|LC_)/,
};

/** The manifest's env keys that only take effect at process start (sorted). */
export function startupOnlyEnv(fn: Pick<FunctionSpec, 'runtime' | 'env'>): string[] {
  return Object.keys(fn.env)
    .filter((k) => STARTUP_ONLY[fn.runtime].test(k))
    .sort();
}

export const sameLimits = (a: ContainerLimits, b: ContainerLimits): boolean =>
  a.cpuShare === b.cpuShare &&
  a.cpuLimit === b.cpuLimit &&
  a.memoryBytes === b.memoryBytes &&
  a.pidsLimit === b.pidsLimit;

/** `fnLimits`: the limits its own container would have (sandbox.ts functionLimits). */
export function coldStartRoute(
  fn: FunctionSpec,
  fnLimits: ContainerLimits,
  kind: StemCellKind,
): ColdStartRoute {
  const classic = (reason: string): ColdStartRoute => ({ path: 'container', reason });
  const rt = fn.runtime;
  // A stem cell runs under runc: specializing one would give the function less than it asked for.
  if (fn.isolation === 'gvisor')
    return classic(
      'classic start: isolation gvisor (stem cells run under runc, and a cell cannot change its kernel)',
    );
  if (kind.min === 0)
    return classic(`sandbox.stem_cells.${rt}.min is 0: stem cells are off for ${rt}`);
  if (fn.image !== kind.image)
    return classic(`its image ${fn.image} is not the ${rt} stem cells' image ${kind.image}`);
  if (fn.fs.mounts.length > 0)
    return classic(
      'permissions.fs mounts host paths into its container, and a mount cannot be added to a running one',
    );
  if (fn.secrets.length > 0)
    return classic(
      'its secrets are mounted into its container at /run/secrets, and a mount cannot be added to a running one',
    );
  const startupOnly = startupOnlyEnv(fn);
  if (startupOnly.length > 0)
    return classic(
      `env ${startupOnly.join(', ')} ${startupOnly.length === 1 ? 'takes' : 'take'} effect only when a process starts`,
    );
  const limits = sameLimits(fnLimits, kind.limits)
    ? "it has the stem cells' limits (the sandbox defaults)"
    : 'its resources differ from the sandbox defaults, so the engine sets its limits on the cell first (about 20-40 ms more)';
  return {
    path: 'stem_cell',
    reason: `a ${rt} stem cell is specialized for it (sandbox.stem_cells.${rt}.min ${kind.min}); ${limits}`,
  };
}

/** What the stem cells and the deployments using them tell the metrics, beside the pools' own events. */
export type StemEvent =
  /** a cold call was served, by a container of that path */
  | { kind: 'cold_start'; path: ColdStartPath }
  /** a cell was specialized (ok), failed as the function's start would (failed), or could not be used (unusable) */
  | { kind: 'specialized'; runtime: Runtime; ms: number; outcome: 'ok' | 'failed' | 'unusable' }
  | { kind: 'stem_cells'; runtime: Runtime; ready: number; starting: number };
