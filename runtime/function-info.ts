// What the API says about a deployed function (GET /functions): the schema is the type and the
// OpenAPI description at once.
import * as v from 'valibot';
import { ISOLATIONS } from './engine/runtimes.ts';

const count = v.pipe(v.number(), v.integer(), v.minValue(0));

export const FunctionInfoSchema = v.object({
  name: v.string(),
  version: v.string(),
  runtime: v.string(),
  /**
   * What its containers run under: `container` (runc) or `gvisor` (runsc, a user-space kernel).
   * Absent only for an invalid folder whose manifest did not resolve.
   */
  isolation: v.optional(v.picklist(ISOLATIONS)),
  status: v.picklist(['ready', 'deploying', 'invalid']),
  error: v.optional(v.string()),
  /**
   * The newest version of the folder failed (manifest, build, or its handler did not load) while the
   * version listed here keeps serving; cleared once a good version replaces it.
   */
  update_failed: v.optional(
    v.object({ reason: v.string(), code: v.string(), at: v.string(), fingerprint: v.string() }),
  ),
  triggers: v.array(v.object({ topic: v.string(), event_type: v.optional(v.string()) })),
  pool: v.object({
    min: count,
    max: count,
    concurrency: count,
    idle_sec: v.number(),
    warm: count,
    busy: count,
    starting: count,
    queued: count,
  }),
  /** since the current version was deployed */
  stats: v.object({
    invocations: count,
    cold_starts: count,
    wait_p50_ms: v.number(),
    wait_p99_ms: v.number(),
  }),
  /** true when the pool runs on settings changed through the API rather than the manifest's */
  pool_overridden: v.boolean(),
  /**
   * How its cold starts are served: `stem_cell` (a ready stem cell is specialized for it; with none
   * ready, a container is started) or `container` (always a container of its own), with the reason;
   * and its cold calls since deploy by the path that served them.
   */
  cold_start: v.object({
    path: v.picklist(['stem_cell', 'container']),
    reason: v.string(),
    stem_cell: count,
    container: count,
  }),
});

export type FunctionInfo = v.InferOutput<typeof FunctionInfoSchema>;
