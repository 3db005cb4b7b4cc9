// Validating a parsed manifest and filling it in from the runtime config: the FunctionSpec it gives.
import path from 'node:path';
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import type { RuntimeConfig } from '../config.ts';
import { problemsOf, rootListProblem, VALIDATION } from '../schema-util.ts';
import { FsPermissionError, resolveFsPermissions } from '../permissions.ts';
import { toScheduleSpec } from '../schedule.ts';
import { parseCpu, parseMemory } from '../quantity.ts';
import { HTTP_METHODS, type FunctionSpec, type HttpMethod, type Runtime } from '../spec.ts';
import { manifestError } from './error.ts';
import { isValidFunctionName, ManifestSchema, NAME_RULE, RUNTIMES } from './schema.ts';

export const DEFAULT_HANDLER: Record<Runtime, string> = { node: 'index.js', python: 'main.py' };
/** The handler files each runtime loads, and how a message names them. */
const HANDLER_FILES: Record<Runtime, { pattern: RegExp; shown: string }> = {
  node: { pattern: /\.(js|mjs|cjs|ts|mts)$/, shown: '.js, .mjs, .cjs, .ts or .mts' },
  python: { pattern: /\.py$/, shown: '.py' },
};

/** Why `handler` does not suit `runtime`, naming the runtime that would load it. */
function handlerRuntimeProblem(runtime: Runtime, handler: string): string | undefined {
  if (HANDLER_FILES[runtime].pattern.test(handler)) return undefined;
  const fits = RUNTIMES.find((r) => HANDLER_FILES[r].pattern.test(handler));
  const hint = fits ? `; set runtime: ${fits} for it` : '';
  return `handler: runtime ${runtime} loads ${HANDLER_FILES[runtime].shown} files (got '${handler}'${hint})`;
}

/**
 * The methods a function takes, in HTTP_METHODS order, each once. GET brings HEAD with it: a HEAD
 * is a GET whose body the gateway drops (RFC 9110 §9.3.2), so a function that takes GET takes HEAD.
 */
export function httpMethods(listed: readonly string[]): HttpMethod[] {
  const set = new Set(listed);
  if (set.has('GET')) set.add('HEAD');
  return HTTP_METHODS.filter((m) => set.has(m));
}

export interface ResolveOptions {
  /** the function folder */
  dir: string;
  /** the name to use when the manifest has none */
  folderName: string;
  config: RuntimeConfig;
  /** relative permissions.fs paths resolve against this, like the config's paths; default: process.cwd() */
  cwd?: string;
  /** how messages name the manifest; default 'function.yaml' */
  file?: string;
}

type Resolved = { spec: FunctionSpec; problems: [] } | { spec: undefined; problems: string[] };

export function resolve(raw: unknown, opts: ResolveOptions): Resolved {
  const result = v.safeParse(ManifestSchema, raw ?? {}, VALIDATION);
  const schemaProblems = [
    ...rootListProblem(raw),
    ...(result.success ? [] : problemsOf(result.issues)),
  ];
  if (!result.success || schemaProblems.length > 0)
    return { spec: undefined, problems: schemaProblems };
  const m = result.output;
  const { config } = opts;
  const problems: string[] = [];
  const attempt = <T>(key: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      problems.push(
        ...(e instanceof FsPermissionError ? e.problems : [`${key}: ${(e as Error).message}`]),
      );
      return undefined;
    }
  };

  if (m.name === undefined && !isValidFunctionName(opts.folderName)) {
    problems.push(
      `name: not set, and the folder name '${opts.folderName}' is not a valid function name (must be ${NAME_RULE}); set name or rename the folder`,
    );
  }
  const cpu = attempt('resources.cpu', () =>
    parseCpu(m.resources.cpu ?? config.sandbox.defaultCpu),
  );
  const cpuLimit = attempt('resources.cpu_limit', () =>
    parseCpu(m.resources.cpu_limit ?? config.sandbox.defaultCpuLimit),
  );
  if (cpu !== undefined && cpuLimit !== undefined && cpuLimit < cpu) {
    problems.push(
      `resources.cpu_limit: must be >= resources.cpu (got limit ${cpuLimit} cores, share ${cpu} cores)`,
    );
  }
  const memoryBytes = attempt('resources.memory', () =>
    parseMemory(m.resources.memory ?? config.sandbox.defaultMemory),
  );

  const pool = {
    min: m.pool.min ?? config.pool.min,
    max: m.pool.max ?? config.pool.max,
    concurrency: m.pool.concurrency ?? config.pool.concurrency,
    idleSec: m.pool.idle_sec ?? config.pool.idleSec,
  };
  if (pool.min > pool.max) {
    const from = (k: 'min' | 'max') => (m.pool[k] === undefined ? ' from the runtime config' : '');
    problems.push(
      `pool.min: must be <= pool.max (got min ${pool.min}${from('min')}, max ${pool.max}${from('max')})`,
    );
  }
  const handler = m.handler ?? DEFAULT_HANDLER[m.runtime];
  const handlerProblem = handlerRuntimeProblem(m.runtime, handler);
  if (handlerProblem) problems.push(handlerProblem);
  const dir = path.resolve(opts.dir);
  const fs = attempt('permissions.fs', () =>
    resolveFsPermissions(m.permissions.fs, config.sandbox.fsRoots, opts.cwd ?? process.cwd()),
  );

  if (
    problems.length > 0 ||
    cpu === undefined ||
    cpuLimit === undefined ||
    memoryBytes === undefined ||
    fs === undefined
  )
    return { spec: undefined, problems };
  const spec: FunctionSpec = {
    name: m.name ?? opts.folderName,
    version: m.version,
    runtime: m.runtime,
    dir,
    handler,
    image: m.image ?? (m.runtime === 'python' ? config.sandbox.pythonImage : config.sandbox.image),
    isolation: m.isolation ?? config.sandbox.isolation,
    triggers: m.triggers.map((t) =>
      t.event_type === undefined ? { topic: t.topic } : { topic: t.topic, eventType: t.event_type },
    ),
    ...(m.max_attempts !== undefined ? { maxAttempts: m.max_attempts } : {}),
    cpu,
    cpuLimit,
    memoryBytes,
    timeoutMs: Math.round((m.timeout_sec ?? config.sandbox.timeoutSec) * 1000),
    pool,
    fs,
    env: m.env,
    secrets: m.secrets,
    config: m.config,
    auth: m.auth,
    ...(m.http.methods ? { http: { methods: httpMethods(m.http.methods) } } : {}),
    ...(m.schedule ? { schedule: toScheduleSpec(m.schedule) } : {}),
    manifestHash: createHash('sha256')
      .update(JSON.stringify(raw ?? {}))
      .digest('hex')
      .slice(0, 16),
  };
  return { spec, problems: [] };
}

/** Validates a parsed manifest and applies the runtime config's defaults. Throws invalid_manifest. */
export function resolveManifest(raw: unknown, opts: ResolveOptions): FunctionSpec {
  const { spec, problems } = resolve(raw, opts);
  if (!spec)
    throw manifestError(opts.file ?? 'function.yaml', problems, { dir: path.resolve(opts.dir) });
  return spec;
}
