// The function manifest (function.yaml): its schema, defaults from the runtime config, and loading a folder.
import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { FunctionMemory, TimeoutSec, type RuntimeConfig } from './config.ts';
import {
  int,
  nonEmpty,
  parseYaml,
  problemsOf,
  rootListProblem,
  strictObject,
  VALIDATION,
} from './schema-util.ts';
import { TitanError } from './errors.ts';
import { FsPermissionError, isWithin, resolveFsPermissions } from './permissions.ts';
import { ScheduleSchema, toScheduleSpec } from './schedule.ts';
import { triggerTopicProblem } from './topics.ts';
import { secretNameProblem } from './secrets.ts';
import { CpuQuantity, parseCpu, parseMemory } from './quantity.ts';
import { ISOLATIONS } from './engine/runtimes.ts';
import { HTTP_METHODS, type FunctionSpec, type HttpMethod, type Runtime } from './spec.ts';

export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
const NAME_RULE = 'a lowercase letter followed by up to 62 of a-z, 0-9, _ and -';
export const isValidFunctionName = (s: unknown): s is string =>
  typeof s === 'string' && NAME_PATTERN.test(s);

export const MANIFEST_FILES = ['function.yaml', 'plugin.yaml'] as const;

const RUNTIMES = ['node', 'python'] as const satisfies readonly Runtime[];
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

const show = (i: { input: unknown }) => JSON.stringify(i.input);
/** `config:` travels to the container in an environment variable; Linux caps one at 128 KiB. */
export const MAX_CONFIG_BYTES = 64 * 1024;
const jsonSize = (x: unknown): number => Buffer.byteLength(JSON.stringify(x) ?? '');
const Handler = v.pipe(
  v.string(),
  v.minLength(1),
  v.check(
    (h) => !/[\\\0]/.test(h) && !path.posix.isAbsolute(h) && !path.win32.isAbsolute(h),
    (i) => `must be a path relative to the function folder (got ${show(i)})`,
  ),
  v.check(
    (h) => !h.split('/').includes('..'),
    (i) => `must not contain '..' (got ${show(i)})`,
  ),
  v.regex(
    /\.(js|mjs|cjs|ts|mts|py)$/,
    (i) => `must name a .js, .mjs, .cjs, .ts, .mts or .py file (got ${show(i)})`,
  ),
  v.transform((h) => path.posix.normalize(h)),
);

const EnvKey = v.pipe(
  v.string(),
  v.regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    (i) => `env names must be letters, digits and _, not starting with a digit (got ${show(i)})`,
  ),
  v.check(
    (k) => !k.startsWith('TITAN_'),
    (i) => `env names starting with TITAN_ are reserved for the runtime (got ${show(i)})`,
  ),
);

/** A topic or glob; none may reach only into the runtime's reserved namespace (runtime/topics.ts). */
const TriggerTopic = v.pipe(
  v.string(),
  v.minLength(1),
  v.check(
    (t) => triggerTopicProblem(t) === undefined,
    (i) => triggerTopicProblem(String(i.input))!,
  ),
);

/** A method `/function/<name>` takes, in any case: `get` is GET. */
const HttpMethodName = v.pipe(
  v.string(),
  v.transform((m) => m.toUpperCase()),
  v.check(
    (m) => (HTTP_METHODS as readonly string[]).includes(m),
    (i) => `must be one of ${HTTP_METHODS.join(', ')} (got ${show(i)})`,
  ),
);

/**
 * The methods a function takes, in HTTP_METHODS order, each once. GET brings HEAD with it: a HEAD
 * is a GET whose body the gateway drops (RFC 9110 §9.3.2), so a function that takes GET takes HEAD.
 */
export function httpMethods(listed: readonly string[]): HttpMethod[] {
  const set = new Set(listed);
  if (set.has('GET')) set.add('HEAD');
  return HTTP_METHODS.filter((m) => set.has(m));
}

// Sections are nullish so that a key whose children are all commented out means "defaults".
export const ManifestSchema = strictObject({
  name: v.optional(
    v.pipe(
      v.string(),
      v.regex(NAME_PATTERN, (i) => `must be ${NAME_RULE} (got ${show(i)})`),
    ),
  ),
  version: v.optional(
    v.pipe(
      v.union([v.string(), v.number()], (i) => `must be a string or number (got ${show(i)})`),
      v.transform(String),
      v.minLength(1),
    ),
    '0.0.0',
  ),
  runtime: v.optional(v.picklist(RUNTIMES), 'node'),
  /** default per runtime: DEFAULT_HANDLER */
  handler: v.optional(Handler),
  image: v.optional(nonEmpty),
  /** container (runc) or gvisor; never an engine runtime name. Absent: the config's sandbox.isolation */
  isolation: v.optional(v.picklist(ISOLATIONS)),
  description: v.optional(v.string()),
  triggers: v.nullish(
    v.array(strictObject({ topic: TriggerTopic, event_type: v.optional(nonEmpty) })),
    [],
  ),
  max_attempts: v.optional(int(1, 100)),
  auth: v.optional(v.picklist(['none', 'token']), 'none'),
  /** `/function/<name>`: which methods it takes (absent: all of them); others answer 405 */
  http: v.nullish(
    strictObject({
      methods: v.optional(
        v.pipe(v.array(HttpMethodName), v.minLength(1, 'must list at least one method')),
      ),
    }),
    {},
  ),
  resources: v.nullish(
    strictObject({
      cpu: v.optional(CpuQuantity),
      cpu_limit: v.optional(CpuQuantity),
      memory: v.optional(FunctionMemory),
    }),
    {},
  ),
  timeout_sec: v.optional(TimeoutSec),
  pool: v.nullish(
    strictObject({
      min: v.optional(int(0)),
      max: v.optional(int(1)),
      concurrency: v.optional(int(1, 1000)),
      idle_sec: v.optional(int(0)),
    }),
    {},
  ),
  permissions: v.nullish(
    strictObject({
      fs: v.nullish(
        strictObject({
          allow: v.nullish(v.array(nonEmpty), []),
          deny: v.nullish(v.array(nonEmpty), []),
        }),
        {},
      ),
    }),
    {},
  ),
  env: v.nullish(
    v.record(
      EnvKey,
      v.pipe(
        v.union(
          [v.string(), v.number(), v.boolean()],
          (i) => `must be a string, number or boolean (got ${show(i)})`,
        ),
        v.transform(String),
      ),
    ),
    {},
  ),
  /** secret names, each mounted read-only at /run/secrets/<name> (runtime/secrets.ts) */
  secrets: v.nullish(
    v.pipe(
      v.array(
        v.pipe(
          v.string(),
          v.check(
            (s) => secretNameProblem(s) === undefined,
            (i) => secretNameProblem(i.input)!,
          ),
        ),
      ),
      v.check((l) => new Set(l).size === l.length, 'must not name a secret twice'),
    ),
    [],
  ),
  /** runs it on a cron or `@every` schedule (runtime/schedule.ts); null or absent: never */
  schedule: v.nullish(ScheduleSchema),
  /** free-form settings for the handler, delivered as `context.config` (see sandbox.ts) */
  config: v.nullish(
    v.pipe(
      // not v.record alone: it takes a list for an object ({0: ...}), and the handler is promised a mapping
      v.custom<Record<string, unknown>>(
        (c) => typeof c === 'object' && c !== null && !Array.isArray(c),
        (i) => `must be a mapping of keys to values (got ${show(i)})`,
      ),
      v.check(
        (c) => jsonSize(c) <= MAX_CONFIG_BYTES,
        (i) => `must be at most ${MAX_CONFIG_BYTES} bytes as JSON (got ${jsonSize(i.input)})`,
      ),
    ),
    {},
  ),
});

export type Manifest = v.InferOutput<typeof ManifestSchema>;

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

function resolve(raw: unknown, opts: ResolveOptions): Resolved {
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

function manifestError(
  file: string,
  problems: string[],
  details: Record<string, unknown>,
): TitanError {
  const lines = problems.map((p) => `${file}: ${p}`);
  const head =
    lines.length === 1 ? '' : `invalid function manifest ${file} (${lines.length} problems):\n`;
  return new TitanError('invalid_manifest', head + lines.join('\n'), {
    ...details,
    file,
    problems: lines,
  });
}

/** Validates a parsed manifest and applies the runtime config's defaults. Throws invalid_manifest. */
export function resolveManifest(raw: unknown, opts: ResolveOptions): FunctionSpec {
  const { spec, problems } = resolve(raw, opts);
  if (!spec)
    throw manifestError(opts.file ?? 'function.yaml', problems, { dir: path.resolve(opts.dir) });
  return spec;
}

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

/** The handler must be a regular file that really lives in the folder (a symlink may not leave it). */
async function checkHandler(dir: string, handler: string): Promise<string | undefined> {
  const shown = `handler: '${handler}'`;
  try {
    const real = await realpath(path.join(dir, handler));
    if (!isWithin(real, await realpath(dir)))
      return `${shown} resolves to '${real}', outside the function folder`;
    if (!(await stat(real)).isFile()) return `${shown} is not a regular file`;
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? `${shown} does not exist in the function folder`
      : `${shown}: ${(e as Error).message}`;
  }
}

/** Reads `<dir>/function.yaml` (or its alias plugin.yaml) and returns the resolved spec. */
export async function loadFunctionFolder(
  dir: string,
  config: RuntimeConfig,
): Promise<FunctionSpec> {
  const abs = path.resolve(dir);
  const folderName = path.basename(abs);
  const fail = (file: string, problems: string[]) => manifestError(file, problems, { dir: abs });

  const present: string[] = [];
  for (const f of MANIFEST_FILES) if (await exists(path.join(abs, f))) present.push(f);
  if (present.length === 0) {
    const why = (await exists(abs))
      ? 'no function.yaml (or plugin.yaml) in the folder'
      : 'folder not found';
    throw fail(folderName, [`${why} (${abs})`]);
  }
  // Two manifests would leave it to chance which one wins.
  if (present.length > 1)
    throw fail(folderName, [
      'both function.yaml and plugin.yaml exist; keep one (plugin.yaml is an alias)',
    ]);
  const file = `${folderName}/${present[0]}`;

  let text: string;
  try {
    text = await readFile(path.join(abs, present[0]!), 'utf8');
  } catch (e) {
    throw fail(file, [(e as Error).message]);
  }
  const parsed = parseYaml(text);
  if (!parsed.ok) throw fail(file, parsed.problems);

  const { spec, problems } = resolve(parsed.value, { dir: abs, folderName, config, file });
  const handlerProblem = spec ? await checkHandler(abs, spec.handler) : undefined;
  if (!spec || handlerProblem)
    throw fail(file, [...problems, ...(handlerProblem ? [handlerProblem] : [])]);
  return spec;
}
