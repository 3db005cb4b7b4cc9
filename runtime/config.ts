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
} from './schema-util.ts';
import { CpuQuantity, MemoryQuantity, parseMemory } from './quantity.ts';
import { isReservedTopic, RESERVED_NAMESPACE, reservedTopicMessage } from './topics.ts';
import { ISOLATIONS } from './engine/runtimes.ts';
import { GatewaySchema } from './gateway-config.ts';

export const DEFAULT_CONFIG_PATH = 'config/runtime.yaml';
/** Node needs more than this to start at all; applies to sandbox.default_memory and resources.memory. */
export const MIN_MEMORY_BYTES = 16 * 1024 ** 2;

export const TimeoutSec = v.pipe(v.number(), v.gtValue(0), v.maxValue(3600));

/** Memory for a function's container. */
export const FunctionMemory = v.pipe(
  MemoryQuantity,
  v.check(
    // An unparsable value was already reported by MemoryQuantity (whose check leaves it "typed").
    (q) => {
      try {
        return parseMemory(q) >= MIN_MEMORY_BYTES;
      } catch {
        return true;
      }
    },
    (i) => `must be at least 16Mi (got ${JSON.stringify(i.input)})`,
  ),
);

/** Stem cells of one runtime: generic containers running its bootstrap, specialized on a cold start. */
const stemRuntimeSchema = (defaultMin: number) =>
  v.pipe(
    strictObject({
      /** kept ready at all times (each one taken is replaced in the background); 0 turns them off */
      min: v.optional(int(0, 64), defaultMin),
      /** after a burst found none ready, up to this many are kept ready for a while (stem-pool.ts) */
      max: v.optional(int(0, 64), 8),
    }),
    v.forward(
      v.partialCheck(
        [['min'], ['max']],
        (s) => s.min <= s.max,
        (i) => {
          const s = i.input as { min: number; max: number };
          return `must be <= max (got min ${s.min}, max ${s.max})`;
        },
      ),
      ['min'],
    ),
  );

/** On by default: an idle node cell costs ~9 MiB and turns a `pool.min: 0` cold start into ~12 ms. */
const StemCellsSchema = strictObject({
  node: v.nullish(stemRuntimeSchema(2), {}),
  python: v.nullish(stemRuntimeSchema(1), {}),
});

const SandboxSchema = strictObject({
  runtime: v.optional(v.picklist(['docker', 'podman']), 'docker'),
  /** what a function whose manifest says no `isolation:` runs under: runc, or gVisor (engine/runtimes.ts) */
  isolation: v.optional(v.picklist(ISOLATIONS), 'container'),
  image: v.optional(nonEmpty, 'node:20-bookworm-slim'),
  python_image: v.optional(nonEmpty, 'python:3.12-slim'),
  // Kept as written; manifest resolution parses them, so a function's spec carries cores and bytes.
  default_cpu: v.optional(CpuQuantity, '50m'),
  default_cpu_limit: v.optional(CpuQuantity, '1'),
  default_memory: v.optional(FunctionMemory, '128Mi'),
  timeout_sec: v.optional(TimeoutSec, 60),
  startup_timeout_sec: v.optional(v.pipe(v.number(), v.gtValue(0)), 20),
  pids_limit: v.optional(int(1), 64),
  tmp_size: v.optional(MemoryQuantity, '16Mi'),
  // Numeric only: a user name may not exist in the image, and uid 0 would defeat the sandbox.
  user: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+(:\d+)?$/, 'must be a numeric uid or uid:gid such as "65534:65534"'),
      v.check((u) => Number(u.split(':')[0]) !== 0, 'must not be root (uid 0)'),
    ),
    '65534:65534',
  ),
  fs_roots: v.optional(v.array(nonEmpty), []),
  /** the engine's log file per container is rotated at this size; log_max_files are kept */
  log_max_size: v.optional(MemoryQuantity, '5Mi'),
  log_max_files: v.optional(int(1, 100), 2),
  /** longest answer the gateway accepts from a function (502 invalid_response beyond it) */
  max_response_bytes: v.optional(int(1024, 1024 ** 3), 6 * 1024 ** 2),
  /** generic containers per runtime image, specialized for a function on its cold start */
  stem_cells: v.nullish(StemCellsSchema, {}),
});

const PoolSchema = v.pipe(
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
);

/** A name the runtime keeps in Redis: inside the reserved namespace, so no topic can name or match it. */
const InternalName = (what: string) =>
  v.pipe(
    nonEmpty,
    v.check(
      (s) => s.toLowerCase().startsWith(RESERVED_NAMESPACE),
      (i) =>
        `must start with the reserved namespace '${RESERVED_NAMESPACE}' (got ${JSON.stringify(i.input)}), so that no topic can name ${what}`,
    ),
    // On a Redis Cluster the event system places keys by their `{…}` hash tag (docs/events-keys.md).
    v.check(
      (s) => !/[{}]/.test(s),
      (i) =>
        `must not contain '{' or '}' (got ${JSON.stringify(i.input)}): they are Redis Cluster hash tags`,
    ),
  );

const EventsSchema = v.pipe(
  strictObject({
    /** REDIS_URL wins over this; with neither, a private redis-server is started when on the PATH */
    redis_url: v.optional(v.string(), ''),
    embedded_redis: v.optional(v.boolean(), true),
    key_prefix: v.optional(
      v.pipe(
        v.string(),
        // A `{` would make the prefix the Redis Cluster hash tag of every key (docs/events-keys.md).
        v.check(
          (s) => !/[{}]/.test(s),
          (i) =>
            `must not contain '{' or '}' (got ${JSON.stringify(i.input)}): on a Redis Cluster they would decide the slot of every key`,
        ),
      ),
      '',
    ),
    group: v.optional(nonEmpty, 'plugins'),
    results_stream: v.optional(InternalName('or match the results'), 'titan.results'),
    dlq_stream: v.optional(InternalName('or match the dead letters'), 'titan.dlq'),
    /** per-function work queues: <prefix><function> */
    queue_prefix: v.optional(InternalName("or match a function's queue"), 'titan.q.'),
    start_from: v.optional(v.picklist(['new', 'all']), 'new'),
    max_attempts: v.optional(int(1, 100), 3),
    retry_base_ms: v.optional(int(1), 200),
    reclaim_idle_sec: v.optional(v.pipe(v.number(), v.gtValue(0)), 30),
    read_count: v.optional(int(1, 1000), 100),
    block_ms: v.optional(int(10, 60_000), 1000),
    max_inflight_per_function: v.optional(int(1, 10_000), 64),
    topic_scan_sec: v.optional(v.pipe(v.number(), v.gtValue(0)), 5),
    async_result_ttl_sec: v.optional(int(1), 86_400),
    results_maxlen: v.optional(int(0), 100_000),
    /** every topic stream is trimmed to about this many entries (XADD MAXLEN ~) */
    topic_maxlen: v.optional(int(1), 100_000),
    /** the DLQ is trimmed to about this many entries */
    dlq_maxlen: v.optional(int(1), 100_000),
    /** entries (waiting or running) per function queue; an event routed past it is dead-lettered as overloaded */
    queue_maxlen: v.optional(int(1), 100_000),
    /** an async invocation finding this many entries in its function's queue is refused: 429 overloaded */
    async_backlog_max: v.optional(int(1), 10_000),
    /** events one invocation may emit; more fail the invocation (invalid_response) and none is published */
    max_emits_per_invocation: v.optional(int(0, 10_000), 100),
    /** a retry count is forgotten this long after the attempt that wrote it (it only matters mid-retry) */
    attempts_ttl_sec: v.optional(int(1), 86_400),
    /** on Cluster / Sentinel: how long an acknowledged write waits for a replica to have it (WAIT) */
    replica_wait_ms: v.optional(int(0, 10_000), 100),
  }),
  // One action, so that every cross-key problem is listed at once (a pipe stops at its first issue).
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const e = dataset.value;
    const at = (key: keyof typeof e): [v.ObjectPathItem] => [
      { type: 'object', origin: 'value', input: e, key, value: e[key] },
    ];
    for (const key of ['results_stream', 'dlq_stream'] as const) {
      // A stream under the queue prefix would be the queue of a function of that name.
      if (e[key].startsWith(e.queue_prefix)) {
        addIssue({
          path: at(key),
          message: `must not start with events.queue_prefix (got ${JSON.stringify(e[key])}, queue_prefix ${JSON.stringify(e.queue_prefix)}): it would be a function's queue`,
        });
      }
    }
    if (e.async_backlog_max > e.queue_maxlen) {
      addIssue({
        path: at('async_backlog_max'),
        message: `must be <= events.queue_maxlen (got ${e.async_backlog_max}, queue_maxlen ${e.queue_maxlen})`,
      });
    }
  }),
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
const FsSourceSchema = strictObject({
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
});

const LogsSchema = strictObject({
  /** lines of container output kept in memory per function; older lines are dropped */
  max_lines_per_function: v.optional(int(1, 1_000_000), 2000),
});

export const ConfigSchema = strictObject({
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
});

export type RuntimeConfig = v.InferOutput<typeof ConfigSchema>;
export type SourceConfig = RuntimeConfig['sources'][number];

/** Relative directories are relative to the working directory the gateway was started in. */
function resolvePaths(c: RuntimeConfig, cwd: string): RuntimeConfig {
  return {
    ...c,
    functions_dir: path.resolve(cwd, c.functions_dir),
    state_dir: path.resolve(cwd, c.state_dir),
    sandbox: { ...c.sandbox, fs_roots: c.sandbox.fs_roots.map((r) => path.resolve(cwd, r)) },
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
  const result = v.safeParse(ConfigSchema, raw, VALIDATION);
  const fileProblems = [
    ...rootListProblem(raw),
    ...(result.success ? sourceProblems(result.output, cwd) : problemsOf(result.issues)),
  ];
  const problems = [...fileProblems.map((p) => `${file}: ${p}`), ...envProblems];
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
