// A burst of events through a gateway's event pipeline: XADD to the topics, wait for every outcome on
// titan.results, count what is missing, doubled or failed. Shared by the single-node events rows and
// the cluster row; on a cluster the connections are ioredis' Cluster (REDIS_URL's own rule).
import { Cluster, Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseRedisUrl, type RedisClient } from '../../gateway/events/redis.ts';
import { waitFor } from './gateway-api.ts';

/** XADDs per pipeline; on a cluster one pipeline names one key (one slot). */
export const BATCH = 100;

export interface RunResult {
  /** events per second from the first XADD to the last arrival */
  rate: number;
  /** per event: arrival minus XADD sent, ms */
  latencies: number[];
  missing: number;
  duplicates: number;
  errors: number;
}

/**
 * Blocking reads are never cut off by a retry limit; a cluster URL gets a cluster client. A command
 * on a lost connection rejects on its own; the 'error' events (Ctrl-C stops the cluster's nodes
 * before the row closes its clients) would only be printed as unhandled.
 */
export function connect(url: string): RedisClient {
  const target = parseRedisUrl(url);
  if (target.kind === 'sentinel') throw new Error('the bench does not drive a Sentinel Redis');
  const client: RedisClient =
    target.kind === 'cluster'
      ? new Cluster(target.nodes, {
          redisOptions: { ...target.options, maxRetriesPerRequest: null },
        })
      : new Redis({ ...target.options, maxRetriesPerRequest: null });
  client.on('error', () => {});
  return client;
}

/**
 * Append `count` events: all at once in pipelines of BATCH (rate undefined), or paced at `rate`/s.
 * Pipelines go to the keys in turn, so several topics share the burst. Records when each was sent.
 */
async function produce(
  redis: RedisClient,
  keys: readonly string[],
  count: number,
  sent: Map<string, number>,
  rate?: number,
): Promise<void> {
  const t0 = performance.now();
  let i = 0;
  let batch = 0;
  while (i < count) {
    const due =
      rate === undefined
        ? count
        : Math.min(count, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    if (due <= i) {
      await sleep(2);
      continue;
    }
    const n = Math.min(BATCH, due - i);
    const key = keys[batch++ % keys.length]!;
    const p = redis.pipeline();
    for (let k = 0; k < n; k++) p.xadd(key, '*', 'type', 'bench', 'data', `{"n":${i + k}}`);
    const t = performance.now();
    const res = (await p.exec()) ?? [];
    for (const [err, id] of res) {
      if (err) throw err;
      // Entry ids are per stream: two topics can hand out the same one.
      sent.set(`${key} ${id as string}`, t);
    }
    i += n;
  }
}

/** Reads arrivals until `done()` or `until`; marks each by the key the event was sent to and its id. */
export type Consumer = (
  seen: Map<string, number>,
  dup: () => void,
  err: () => void,
  done: () => boolean,
  until: number,
) => Promise<void>;

/** One run: produce and consume concurrently; bounded by `limitMs`. */
export async function runOnce(
  redis: RedisClient,
  keys: readonly string[],
  count: number,
  consume: Consumer,
  limitMs: number,
  rate?: number,
): Promise<RunResult> {
  const sent = new Map<string, number>();
  const seen = new Map<string, number>();
  let duplicates = 0;
  let errors = 0;
  const until = performance.now() + limitMs;
  const consuming = consume(
    seen,
    () => duplicates++,
    () => errors++,
    () => seen.size >= count,
    until,
  );
  await produce(redis, keys, count, sent, rate);
  await consuming;
  const latencies: number[] = [];
  let last = 0;
  for (const [id, t] of sent) {
    const at = seen.get(id);
    if (at !== undefined) {
      latencies.push(at - t);
      last = Math.max(last, at);
    }
  }
  const first = Math.min(...sent.values());
  return {
    rate: (latencies.length / (last - first)) * 1000,
    latencies,
    missing: count - latencies.length,
    duplicates,
    errors,
  };
}

/**
 * Reads titan.results from `from`: an entry per event invocation, naming the event's topic and id.
 * `topicKey` maps a result's topic back to the stream it was sent to (the key prefix added).
 */
function resultsConsumer(
  reader: RedisClient,
  resultsKey: string,
  from: string,
  topicKey: (topic: string) => string,
): Consumer {
  return async (seen, dup, err, done, until) => {
    let id = from;
    while (!done() && performance.now() < until) {
      const reply = (await reader.xread(
        'COUNT',
        1000,
        'BLOCK',
        200,
        'STREAMS',
        resultsKey,
        id,
      )) as Array<[string, Array<[string, string[]]>]> | null;
      const t = performance.now();
      for (const [, entries] of reply ?? []) {
        for (const [entryId, flat] of entries) {
          id = entryId;
          const f: Record<string, string> = {};
          for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
          if (f.outcome !== 'ok') err();
          const key = `${topicKey(f.topic ?? '')} ${f.event_id}`;
          if (seen.has(key)) dup();
          else seen.set(key, t);
        }
      }
    }
  };
}

export async function lastId(redis: RedisClient, key: string): Promise<string> {
  const [entry] = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
  return entry?.[0] ?? '0-0';
}

/** Generous: a floor of ~1k events/s, plus the paced run's own length. */
export const runLimitMs = (n: number, rate?: number): number =>
  30_000 + (rate ? (n / rate) * 1000 : n);

/** The router creates its group on a topic when it subscribes; events before that are not read. */
export async function waitSubscribed(
  cmd: RedisClient,
  topicKeys: readonly string[],
): Promise<void> {
  for (const key of topicKeys)
    await waitFor(
      `the router subscribing to ${key}`,
      async () => {
        const groups = (await cmd.call('XINFO', 'GROUPS', key).catch(() => [])) as unknown[][];
        return groups.length > 0;
      },
      30_000,
      50,
    );
}

/** Events through the gateway(s) reading `topics`: sent to the topics in turn, counted on titan.results. */
export async function viaGateways(
  cmd: RedisClient,
  reader: RedisClient,
  opts: { prefix: string; topics: readonly string[]; resultsKey: string },
  n: number,
  rate?: number,
): Promise<RunResult> {
  const keys = opts.topics.map((t) => opts.prefix + t);
  const from = await lastId(cmd, opts.resultsKey);
  const consumer = resultsConsumer(reader, opts.resultsKey, from, (t) => opts.prefix + t);
  return runOnce(cmd, keys, n, consumer, runLimitMs(n, rate), rate);
}

/** "" when every event arrived once with outcome ok, else what went wrong. */
export const deliveryProblem = (what: string, r: RunResult): string =>
  r.missing || r.duplicates || r.errors
    ? `${what}: ${r.missing} missing, ${r.duplicates} duplicates, ${r.errors} errors`
    : '';
