// The `events:` section of the configuration: Redis Streams triggers, async invocations, the DLQ and
// the bounds that keep every stream the runtime writes finite. Part of ConfigSchema (config.ts).
import * as v from 'valibot';
import { camelKeys, int, nonEmpty, strictObject } from './schema-util.ts';
import { RESERVED_NAMESPACE } from './topics.ts';

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

export const EventsSchema = camelKeys(
  v.pipe(
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
  ),
);
