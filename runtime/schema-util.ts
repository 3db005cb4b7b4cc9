// Schema plumbing shared by the runtime config and function manifests: YAML parsing, strict objects
// whose unknown-key message names the allowed keys, and valibot issues rendered as
// `path.to.key: what is wrong (got X)`.
import * as v from 'valibot';
import { LineCounter, parseDocument } from 'yaml';

const got = (x: unknown): string =>
  Array.isArray(x)
    ? 'a list'
    : x === null
      ? 'null'
      : typeof x === 'object'
        ? 'a mapping'
        : (JSON.stringify(x) ?? String(x));

/** One wording for every schema; passed to safeParse as the fallback message. */
function issueMessage(issue: v.BaseIssue<unknown>): string {
  const req = (issue as { requirement?: unknown }).requirement;
  const tail = ` (got ${got(issue.input)})`;
  switch (issue.type) {
    case 'string':
      return `must be a string${tail}`;
    case 'number':
      return `must be a number${tail}`;
    case 'boolean':
      return `must be true or false${tail}`;
    case 'array':
      return `must be a list${tail}`;
    case 'object':
    case 'record':
    case 'strict_object':
      return `must be a mapping${tail}`;
    case 'integer':
      return `must be an integer${tail}`;
    case 'min_value':
      return `must be >= ${req}${tail}`;
    case 'max_value':
      return `must be <= ${req}${tail}`;
    case 'gt_value':
      return `must be > ${req}${tail}`;
    case 'min_length':
      return `must not be empty`;
    case 'picklist':
      return `must be one of ${issue.expected?.replace(/^\((.*)\)$/, '$1').replaceAll(' | ', ', ')}${tail}`;
    case 'regex':
      return `must match ${req}${tail}`;
    case 'union':
      return `must be ${issue.expected?.replaceAll(' | ', ' or ')}${tail}`;
    default:
      return `invalid value${tail}`;
  }
}

/** A string with at least one character. */
export const nonEmpty = v.pipe(v.string(), v.minLength(1));

/**
 * valibot's object schemas accept arrays (typeof [] is 'object'), so a file holding a YAML list would
 * read as "all defaults". Callers check the document root with this; nested lists where a mapping
 * belongs still fail on their element keys ('0', '1', ...), unless they are empty.
 */
export const rootListProblem = (x: unknown): string[] =>
  Array.isArray(x) ? ['must be a mapping of keys (got a list)'] : [];

/** Stop at the first failure per key, but report every key. */
export const VALIDATION = { abortPipeEarly: true, message: issueMessage } satisfies v.Config<
  v.BaseIssue<unknown>
>;

/** A non-negative/positive integer in [min, max]. */
export function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
}

// valibot stops at the first unknown key of an object; problemsOf uses this to report them all.
const allowedKeysOf = new WeakMap<object, readonly string[]>();

/** A strict object whose unknown-key message names the key and the keys that are allowed. */
export function strictObject<const E extends v.ObjectEntries>(entries: E) {
  const allowed = Object.keys(entries);
  return v.strictObject(entries, (issue) => {
    // A missing required key carries a path; a non-object input has none.
    if (issue.expected !== 'never')
      return issue.path ? 'is required' : `must be a mapping (got ${got(issue.input)})`;
    allowedKeysOf.set(issue, allowed);
    return `unknown key '${String(issue.input)}' (allowed keys: ${allowed.join(', ')})`;
  });
}

/** `max_body_bytes` → `maxBodyBytes`, as a type: what a YAML key is called in the code. */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** `T` with its own keys (not its values' keys) in camelCase. */
export type CamelKeys<T> = { [K in keyof T as K extends string ? CamelCase<K> : K]: T[K] };

/** `max_body_bytes` → `maxBodyBytes`: the runtime half of CamelCase. */
export const camelCase = (key: string): string =>
  key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

type ObjectLike = v.GenericSchema<unknown, Record<string, unknown>> &
  ({ entries: v.ObjectEntries } | { pipe: readonly [{ entries: v.ObjectEntries }, ...unknown[]] });

/**
 * `schema` (an object schema, or a pipe that starts with one) whose output names its keys in
 * camelCase: users write the YAML keys, the code reads `cfg.reclaimIdleSec`, and the mapping happens
 * once, at load. Only the keys the schema declares are renamed, never the keys of the values (env
 * vars, topics, function names stay as written); nested schemas rename their own. The rename runs
 * after every check of `schema`, so problems still name the key the user wrote.
 */
export function camelKeys<const S extends ObjectLike>(schema: S) {
  const entries = 'entries' in schema ? schema.entries : schema.pipe[0].entries;
  const renames = new Map(Object.keys(entries).map((k) => [k, camelCase(k)]));
  // `max_age` beside `maxAge` would silently lose one of them; a schema like that is a bug.
  const names = [...renames.values()];
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) throw new Error(`camelKeys: two keys of one schema are both called '${twice}'`);
  return v.pipe(
    schema,
    v.transform((input) => {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(input)) out[renames.get(key) ?? key] = value;
      return out as CamelKeys<v.InferOutput<S>>;
    }),
  );
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`: optimal string alignment. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The allowed key a misspelt one most likely meant: a few edits away (at most a third of its length,
 * at least 1, case ignored), or one that starts with it or it starts with (`timeout` → `timeout_sec`).
 */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const candidate of allowed) {
    const c = candidate.toLowerCase();
    const distance = editDistance(k, c);
    const near =
      distance <= Math.max(1, Math.floor(k.length / 3)) ||
      (k.length >= 3 && (c.startsWith(k) || k.startsWith(c)));
    if (near && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

const dotted = (keys: readonly unknown[]): string => {
  let where = '';
  for (const key of keys)
    where += typeof key === 'number' ? `[${key}]` : `${where ? '.' : ''}${String(key)}`;
  return where;
};

/** One `a.b[0].c: message` line per problem (just the message for the root). */
export function problemsOf(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.flatMap((issue) => {
    const items = issue.path ?? [];
    const keys = items.map((item) => (item as { key?: unknown }).key);
    const allowed = allowedKeysOf.get(issue);
    if (allowed && items.length > 0) {
      const obj = items.at(-1)!.input as Record<string, unknown>;
      return Object.keys(obj)
        .filter((k) => !allowed.includes(k))
        .map((k) => {
          const meant = closestKey(k, allowed);
          return `${dotted([...keys.slice(0, -1), k])}: unknown key (allowed keys: ${allowed.join(', ')})${meant ? `; did you mean '${meant}'?` : ''}`;
        });
    }
    const where = dotted(keys);
    return [where ? `${where}: ${issue.message}` : issue.message];
  });
}

export type YamlResult = { ok: true; value: unknown } | { ok: false; problems: string[] };

/** Parses one YAML document; each syntax error comes back as `line L, column C: message`. */
export function parseYaml(text: string): YamlResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        const msg =
          e.code === 'MULTIPLE_DOCS' ? 'the file must contain a single YAML document' : e.message;
        return `line ${line}, column ${col}: ${msg}`;
      }),
    };
  }
  try {
    return { ok: true, value: doc.toJS() };
  } catch (e) {
    // e.g. an alias bomb beyond yaml's maxAliasCount
    return { ok: false, problems: [(e as Error).message] };
  }
}
