// The shapes of /stats/functions, /stats/functions/{name} and /stats/events: the types the routes
// return and their OpenAPI description at once.
import * as v from 'valibot';

const count = v.pipe(v.number(), v.integer(), v.minValue(0));

export const RatesSchema = v.object({
  /** the window's end, epoch ms */
  at: v.number(),
  /** the window's length, ms */
  window_ms: v.number(),
  invocations_per_min: v.number(),
  errors_per_min: v.number(),
  cold_starts_per_min: v.number(),
  /** null when no call finished in the window */
  p50_ms: v.nullable(v.number()),
  p99_ms: v.nullable(v.number()),
});
export type Rates = v.InferOutput<typeof RatesSchema>;

export const FunctionRatesListSchema = v.object({
  functions: v.array(v.object({ name: v.string(), ...v.partial(RatesSchema).entries })),
});

export const FunctionStatsSchema = v.object({
  name: v.string(),
  latest: v.nullable(RatesSchema),
  /** windows of about 10 s over the last 15 minutes, oldest first */
  series: v.array(RatesSchema),
  /** the deployed version's resolved manifest, without env, config or host paths; null when none is valid */
  manifest: v.nullable(v.record(v.string(), v.unknown())),
});

export const EventsStatsSchema = v.object({
  state: v.string(),
  topics: v.array(
    v.object({
      topic: v.string(),
      functions: v.array(v.object({ function: v.string(), event_type: v.optional(v.string()) })),
      lag: v.nullable(count),
    }),
  ),
  /** per function with a trigger: queue entries not read yet (lag) and read but not acknowledged (pending) */
  queues: v.array(v.object({ function: v.string(), lag: count, pending: count })),
});
