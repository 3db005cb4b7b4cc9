// The function.yaml schema (valibot): every key, its checks and messages, and the defaults set here.
import path from 'node:path';
import * as v from 'valibot';
import { FunctionMemory, TimeoutSec } from '../config.ts';
import { int, nonEmpty, strictObject } from '../schema-util.ts';
import { ScheduleSchema } from '../schedule.ts';
import { triggerTopicProblem } from '../topics.ts';
import { secretNameProblem } from '../secrets.ts';
import { CpuQuantity } from '../quantity.ts';
import { ISOLATIONS } from '../engine/runtimes.ts';
import { HTTP_METHODS, type Runtime } from '../spec.ts';

export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
export const NAME_RULE = 'a lowercase letter followed by up to 62 of a-z, 0-9, _ and -';
export const isValidFunctionName = (s: unknown): s is string =>
  typeof s === 'string' && NAME_PATTERN.test(s);

export const RUNTIMES = ['node', 'python'] as const satisfies readonly Runtime[];

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
