// The gateway's configuration: schema with defaults, loaded from YAML and overridden by TITAN_* env vars.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import { TitanError } from './errors.ts';
import {
  int,
  nonEmpty,
  parseYaml,
  problemsOf,
  rootListProblem,
  strictObject,
  VALIDATION,
  camelKeys,
} from './schema-util.ts';
import { isReservedTopic, reservedTopicMessage } from './topics.ts';
import { GatewaySchema } from './gateway-config.ts';
import { EventsSchema } from './events-config.ts';
import { SandboxSchema } from './sandbox-config.ts';

export { FunctionMemory, MIN_MEMORY_BYTES, TimeoutSec } from './sandbox-config.ts';

export const DEFAULT_CONFIG_PATH = 'config/runtime.yaml';

const PoolSchema = camelKeys(
  v.pipe(
    strictObject({
      min: v.optional(int(0), 1),
      max: v.optional(int(1), 4),
      concurrency: v.optional(int(1, 1000), 1),
      idle_sec: v.optional(int(0), 300),
      queue_max: v.optional(int(0), 64),
      queue_timeout_sec: v.optional(v.pipe(v.number(), v.gtValue(0)), 10),
    }),
    v.forward(
      v.partialCheck(
        [['min'], ['max']],
        (p) => p.min <= p.max,
        (i) => {
          const p = i.input as { min: number; max: number };
          return `must be <= pool.max (got min ${p.min}, max ${p.max})`;
        },
      ),
      ['min'],
    ),
  ),
);

/** What a topic may be called; the event system checks published topics against the same rule. */
export const TOPIC_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

/**
 * Names a file source never reports: dotfiles and editor or download temp files (`.#x` is a dotfile).
 * `ignore:` patterns add to these. A pattern is matched against each path segment's name.
 */
export const DEFAULT_SOURCE_IGNORE = [
  '.*',
  '*.swp',
  '*.swx',
  '*~',
  '*.part',
  '*.crdownload',
  '*.tmp',
] as const;

// picklist on `type`, so further kinds of source can join as a variant.
const FsSourceSchema = camelKeys(
  strictObject({
    type: v.picklist(['fs']),
    /** the directory to watch; created if missing */
    path: nonEmpty,
    topic: v.pipe(
      v.string(),
      v.regex(
        TOPIC_PATTERN,
        (i) => `invalid topic ${JSON.stringify(i.input)}: topics match ${TOPIC_PATTERN.source}`,
      ),
    ),
    /** how long a file must stay unchanged before its event is published */
    debounce_ms: v.optional(int(0, 3_600_000), 500),
    recursive: v.optional(v.boolean(), true),
    /** name patterns (`*`, `?`) ignored in addition to DEFAULT_SOURCE_IGNORE */
    ignore: v.optional(v.array(nonEmpty), []),
  }),
);

const LogsSchema = camelKeys(
  strictObject({
    /** lines of container output kept in memory per function; older lines are dropped */
    max_lines_per_function: v.optional(int(1, 1_000_000), 2000),
  }),
);

export const ConfigSchema = camelKeys(
  strictObject({
    // nullish: a section whose keys are all commented out parses as null and means "all defaults".
    gateway: v.nullish(GatewaySchema, {}),
    functions_dir: v.optional(nonEmpty, './functions'),
    state_dir: v.optional(nonEmpty, '.titan'),
    sandbox: v.nullish(SandboxSchema, {}),
    pool: v.nullish(PoolSchema, {}),
    events: v.nullish(EventsSchema, {}),
    logs: v.nullish(LogsSchema, {}),
    /** directories whose new and changed files are published as events */
    sources: v.nullish(v.array(FsSourceSchema), []),
  }),
);

export type RuntimeConfig = v.InferOutput<typeof ConfigSchema>;
export type SourceConfig = RuntimeConfig['sources'][number];

/** Relative directories are relative to the working directory the gateway was started in. */
function resolvePaths(c: RuntimeConfig, cwd: string): RuntimeConfig {
  return {
    ...c,
    functionsDir: path.resolve(cwd, c.functionsDir),
    stateDir: path.resolve(cwd, c.stateDir),
    sandbox: { ...c.sandbox, fsRoots: c.sandbox.fsRoots.map((r) => path.resolve(cwd, r)) },
    sources: c.sources.map((s) => ({ ...s, path: path.resolve(cwd, s.path) })),
  };
}

export function defaultConfig(cwd: string = process.cwd()): RuntimeConfig {
  return resolvePaths(v.parse(ConfigSchema, {}), cwd);
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/** Env vars win over the file. Empty values count as unset, as shells make them easy to leave behind. */
function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const section = (key: string): Record<string, unknown> => {
    if (!isRecord(raw[key])) raw[key] = {};
    return raw[key] as Record<string, unknown>;
  };
  if (env.TITAN_FUNCTIONS_DIR) raw.functions_dir = env.TITAN_FUNCTIONS_DIR;
  if (env.TITAN_STATE_DIR) raw.state_dir = env.TITAN_STATE_DIR;
  if (env.TITAN_HOST) section('gateway').host = env.TITAN_HOST;
  if (env.TITAN_PORT) {
    const port = /^\d{1,5}$/.test(env.TITAN_PORT) ? Number(env.TITAN_PORT) : NaN;
    if (port >= 0 && port <= 65535) section('gateway').port = port;
    else
      problems.push(
        `TITAN_PORT: must be an integer from 0 to 65535 (got ${JSON.stringify(env.TITAN_PORT)})`,
      );
  }
  return problems;
}

async function readConfigText(
  file: string,
  abs: string,
  explicit: boolean,
): Promise<string | undefined> {
  try {
    return await readFile(abs, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // Only the default location is optional; a path someone typed must exist.
    if (err.code === 'ENOENT' && !explicit) return undefined;
    const why = err.code === 'ENOENT' ? 'file not found' : err.message;
    throw new TitanError('invalid_config', `${file}: ${why}`, { file: abs });
  }
}

export interface LoadConfigOptions {
  /** default: $TITAN_CONFIG, then config/runtime.yaml (which may be absent) */
  path?: string;
  env?: NodeJS.ProcessEnv;
  /** relative paths, in the file and in env vars, resolve against this; default process.cwd() */
  cwd?: string;
}

export async function loadConfig(opts: LoadConfigOptions = {}): Promise<RuntimeConfig> {
  const { env = process.env, cwd = process.cwd() } = opts;
  const explicit = opts.path ?? (env.TITAN_CONFIG || undefined);
  const file = explicit ?? DEFAULT_CONFIG_PATH;
  const abs = path.resolve(cwd, file);
  const text = await readConfigText(file, abs, explicit !== undefined);

  let raw: unknown = {};
  if (text !== undefined) {
    const parsed = parseYaml(text);
    if (!parsed.ok)
      throw configError(
        file,
        abs,
        parsed.problems.map((p) => `${file}: ${p}`),
      );
    raw = parsed.value ?? {};
  }
  const envProblems = isRecord(raw) ? applyEnv(raw, env) : [];
  return checked(raw, { file, abs, cwd, envProblems });
}

/** What a config file holds, as YAML spells it (snake_case keys): tests and benchmarks build these. */
export type ConfigInput = v.InferInput<typeof ConfigSchema>;

/** The config `input` describes, checked as loadConfig checks a file; `cwd` resolves its paths. */
export function parseConfig(input: ConfigInput, cwd: string = process.cwd()): RuntimeConfig {
  return checked(input, { file: 'config', abs: cwd, cwd, envProblems: [] });
}

function checked(
  raw: unknown,
  where: { file: string; abs: string; cwd: string; envProblems: string[] },
): RuntimeConfig {
  const { file, abs, cwd } = where;
  const result = v.safeParse(ConfigSchema, raw, VALIDATION);
  const fileProblems = [
    ...rootListProblem(raw),
    ...(result.success ? sourceProblems(result.output, cwd) : problemsOf(result.issues)),
  ];
  const problems = [...fileProblems.map((p) => `${file}: ${p}`), ...where.envProblems];
  if (problems.length > 0 || !result.success) throw configError(file, abs, problems);
  return resolvePaths(result.output, cwd);
}

/** What the schema cannot see alone: topics in the runtime's reserved namespace (runtime/topics.ts), and duplicates. */
function sourceProblems(c: RuntimeConfig, cwd: string): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  c.sources.forEach((s, i) => {
    if (isReservedTopic(s.topic))
      problems.push(`sources[${i}].topic: ${reservedTopicMessage(s.topic)}`);
    // Two entries with the same directory and topic would share one index and publish everything twice.
    const key = `${path.resolve(cwd, s.path)}\0${s.topic}`;
    const first = seen.get(key);
    if (first !== undefined)
      problems.push(
        `sources[${i}]: same path and topic as sources[${first}] (${JSON.stringify(s.path)}, ${s.topic})`,
      );
    else seen.set(key, i);
  });
  return problems;
}

function configError(file: string, abs: string, problems: string[]): TitanError {
  const head =
    problems.length === 1 ? '' : `invalid runtime config ${file} (${problems.length} problems):\n`;
  return new TitanError('invalid_config', head + problems.join('\n'), { file: abs, problems });
}
