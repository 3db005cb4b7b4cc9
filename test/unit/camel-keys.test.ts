// Unit tests for camelKeys (runtime/schema-util.ts): YAML keys for users, camelCase for the code,
// renamed once at load: only the schema's own keys, never the user's, and errors in the user's words.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as v from 'valibot';
import {
  type CamelCase,
  camelCase,
  camelKeys,
  int,
  problemsOf,
  strictObject,
  VALIDATION,
} from '../../runtime/schema-util.ts';
import { ConfigSchema } from '../../runtime/config.ts';

// Compile-time checks of the type-level mapping: a wrong one fails `npm run typecheck`.
const typeLevel: [CamelCase<'reclaim_idle_sec'>, CamelCase<'min'>, CamelCase<'a_b_c'>] = [
  'reclaimIdleSec',
  'min',
  'aBC',
];

const Inner = camelKeys(strictObject({ max_lines: v.optional(int(1), 5) }));
const Outer = camelKeys(
  v.pipe(
    strictObject({
      idle_sec: v.optional(int(0), 30),
      queue_max: v.optional(int(0), 64),
      env: v.optional(v.record(v.string(), v.string()), {}),
      topics: v.optional(v.array(v.string()), []),
      inner: v.nullish(Inner, {}),
    }),
    v.forward(
      v.partialCheck(
        [['idle_sec'], ['queue_max']],
        (o) => o.idle_sec <= o.queue_max,
        'must be <= queue_max',
      ),
      ['idle_sec'],
    ),
  ),
);

const problems = (input: unknown): string[] => {
  const result = v.safeParse(Outer, input, VALIDATION);
  assert.equal(result.success, false, 'expected the input to be refused');
  return problemsOf(result.issues!);
};

describe('camelKeys', () => {
  test('camelCase renames snake_case and leaves other names alone', () => {
    assert.deepEqual(typeLevel, ['reclaimIdleSec', 'min', 'aBC']);
    assert.equal(camelCase('reclaim_idle_sec'), 'reclaimIdleSec');
    assert.equal(camelCase('max_inflight_per_function'), 'maxInflightPerFunction');
    assert.equal(camelCase('host'), 'host');
    assert.equal(camelCase('tmp_size'), 'tmpSize');
  });

  test("the schema's own keys are renamed, at every level, defaults included", () => {
    const out = v.parse(Outer, { idle_sec: 3, inner: { max_lines: 7 } });
    assert.deepEqual(out, {
      idleSec: 3,
      queueMax: 64,
      env: {},
      topics: [],
      inner: { maxLines: 7 },
    });
    assert.deepEqual(v.parse(Outer, {}).inner, { maxLines: 5 });
    // The typed result is read with the new names.
    const n: number = out.inner.maxLines + out.idleSec;
    assert.equal(n, 10);
  });

  test("the user's keys and values are never renamed: env vars, topic names, lists", () => {
    const env = { MY_VAR_X: '1', a_b: '2', snake_case_key: 'x_y' };
    const out = v.parse(Outer, { env, topics: ['a_b', 'c_d.e_f'] });
    assert.deepEqual(out.env, env);
    assert.deepEqual(Object.keys(out.env), ['MY_VAR_X', 'a_b', 'snake_case_key']);
    assert.deepEqual(out.topics, ['a_b', 'c_d.e_f']);
  });

  test('problems name the keys as the user wrote them, cross-key checks included', () => {
    assert.deepEqual(problems({ idle_sec: -1 }), ['idle_sec: must be >= 0 (got -1)']);
    assert.deepEqual(problems({ idle_sec: 100, queue_max: 1 }), ['idle_sec: must be <= queue_max']);
    assert.deepEqual(problems({ inner: { max_lines: 0 } }), [
      'inner.max_lines: must be >= 1 (got 0)',
    ]);
  });

  test('the camelCase names are not accepted as input: users write the YAML keys', () => {
    const [first] = problems({ idleSec: 3 });
    assert.match(
      first!,
      /^idleSec: unknown key \(allowed keys: idle_sec, queue_max, env, topics, inner\); did you mean 'idle_sec'\?$/,
    );
  });

  test('a schema whose keys would collide once renamed is refused when it is built', () => {
    assert.throws(
      () => camelKeys(strictObject({ max_age: v.number(), maxAge: v.number() })),
      /two keys of one schema are both called 'maxAge'/,
    );
  });

  test('the runtime config: every key camelCase, the values the user wrote kept as written', () => {
    const c = v.parse(ConfigSchema, {
      gateway: { allowed_hosts: ['my_host.example.com'], cors: { allow_headers: ['X_Trace_Id'] } },
      sandbox: { fs_roots: ['/srv/my_dir'], stem_cells: { node: { min: 1 } } },
      events: { key_prefix: 'a_b:', group: 'my_group' },
      sources: [{ type: 'fs', path: './in_box', topic: 'files.a-b' }],
    });
    assert.deepEqual(c.gateway.allowedHosts, ['my_host.example.com']);
    assert.deepEqual(c.gateway.cors.allowHeaders, ['X_Trace_Id']);
    assert.deepEqual(c.sandbox.fsRoots, ['/srv/my_dir']);
    assert.deepEqual(c.sandbox.stemCells.node, { min: 1, max: 8 });
    assert.equal(c.events.keyPrefix, 'a_b:');
    assert.equal(c.events.group, 'my_group');
    assert.deepEqual(c.sources, [
      {
        type: 'fs',
        path: './in_box',
        topic: 'files.a-b',
        debounceMs: 500,
        recursive: true,
        ignore: [],
      },
    ]);
    // No snake_case key is left at any depth of the parsed config.
    const snake: string[] = [];
    const walk = (x: unknown, at: string): void => {
      if (Array.isArray(x)) {
        for (const [i, y] of x.entries()) walk(y, `${at}[${i}]`);
      } else if (x && typeof x === 'object')
        for (const [k, y] of Object.entries(x)) {
          if (k.includes('_')) snake.push(`${at}.${k}`);
          walk(y, `${at}.${k}`);
        }
    };
    walk(c, 'config');
    assert.deepEqual(snake, []);
  });
});
