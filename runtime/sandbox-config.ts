// The `sandbox:` section of the configuration: the engine, images and limits every function's
// container gets unless its manifest says otherwise, and the stem cells. Part of ConfigSchema (config.ts).
import * as v from 'valibot';
import { camelKeys, int, nonEmpty, strictObject } from './schema-util.ts';
import { CpuQuantity, MemoryQuantity, parseMemory } from './quantity.ts';
import { ISOLATIONS } from './engine/runtimes.ts';

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
const StemCellsSchema = camelKeys(
  strictObject({
    node: v.nullish(stemRuntimeSchema(2), {}),
    python: v.nullish(stemRuntimeSchema(1), {}),
  }),
);

export const SandboxSchema = camelKeys(
  strictObject({
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
  }),
);
