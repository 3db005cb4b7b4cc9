// Small typed wrappers over the stream commands the event system uses (ioredis types them loosely).
import { isCluster, type RedisClient } from './redis.ts';

export type Entry = [id: string, fields: string[]];
export type ReadReply = Array<[key: string, entries: Entry[]]> | null;

/** Create a consumer group; an existing one is fine (that is how we resume where it left off). */
export async function ensureGroup(
  redis: RedisClient,
  key: string,
  group: string,
  from: string,
): Promise<void> {
  try {
    await redis.call('XGROUP', 'CREATE', key, group, from, 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
  }
}

export async function readGroup(
  redis: RedisClient,
  group: string,
  consumer: string,
  keys: string[],
  count: number,
  blockMs: number,
): Promise<ReadReply> {
  const block = ['BLOCK', blockMs];
  const reply = await xreadgroup(redis, group, consumer, count, block, keys, '>');
  return reply ? pairsOf(reply) : null;
}

/** XREADGROUP of `keys`, each from `from` (`>`: new entries; `0`: this consumer's pending ones). */
function xreadgroup(
  redis: RedisClient,
  group: string,
  consumer: string,
  count: number,
  block: Array<string | number>,
  keys: string[],
  from: string,
): Promise<unknown[] | null> {
  const ids = keys.map(() => from);
  const args = ['GROUP', group, consumer, 'COUNT', count, ...block, 'STREAMS', ...keys, ...ids];
  return redis.call('XREADGROUP', ...args) as Promise<unknown[] | null>;
}

/**
 * XREADGROUP answers one [key, entries] pair per stream; ioredis 6 hands that map-like reply to
 * `call` flattened ([k1, e1, k2, e2]). Accept both shapes.
 */
function pairsOf(reply: unknown[]): Array<[string, Entry[]]> {
  if (reply.length === 0 || Array.isArray(reply[0])) return reply as Array<[string, Entry[]]>;
  const out: Array<[string, Entry[]]> = [];
  for (let i = 0; i + 1 < reply.length; i += 2)
    out.push([reply[i] as string, reply[i + 1] as Entry[]]);
  return out;
}

/**
 * This consumer's own pending entries (read, not yet acknowledged), oldest first; never blocks.
 * After an error between a read and its acknowledgement (Redis went away under the command
 * connection while the blocking one had just read), these are ours to finish: waiting for
 * XAUTOCLAIM would stall them for reclaim_idle_sec.
 */
export async function readOwnPending(
  redis: RedisClient,
  group: string,
  consumer: string,
  key: string,
  count: number,
): Promise<Entry[]> {
  const reply = await xreadgroup(redis, group, consumer, count, [], [key], '0');
  // Entries deleted while pending come back with null fields: nothing left to process.
  return (reply ? pairsOf(reply) : [])
    .flatMap(([, entries]) => entries)
    .filter((e) => e[1] !== null);
}

/** Take over entries another consumer left pending for longer than minIdleMs. */
export async function autoClaim(
  redis: RedisClient,
  key: string,
  group: string,
  consumer: string,
  minIdleMs: number,
  count: number,
): Promise<Entry[]> {
  const reply = (await redis.call(
    'XAUTOCLAIM',
    key,
    group,
    consumer,
    minIdleMs,
    '0-0',
    'COUNT',
    count,
  )) as [string, Array<Entry | null>];
  // Entries deleted while pending come back as null (Redis 7); they have nothing left to process.
  return reply[1].filter((e): e is Entry => e !== null && e[1] !== null);
}

export const isNoGroup = (err: unknown): boolean =>
  String((err as Error)?.message).includes('NOGROUP');

export function flatten(fields: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out.push(k, v);
  return out;
}

// Deletes, atomically, the group's consumers other than ARGV[2] that hold nothing pending and have
// been idle longer than ARGV[3] ms. Atomic, because between a separate XINFO and XGROUP DELCONSUMER
// the consumer could read entries, and deleting it then would drop them from the pending list: lost.
const PRUNE = `
local n = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f.name ~= ARGV[2] and tonumber(f.pending) == 0 and tonumber(f.idle) > tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f.name)
    n = n + 1
  end
end
return n
`;

/**
 * Every gateway start reads as a new consumer (its name has the pid and a random part), and Redis
 * keeps a consumer until it is deleted: without this, each restart would leave one behind in every
 * topic's and queue's group for good. A consumer that holds nothing pending owns no work, and one
 * still alive is simply created again by its next read.
 */
export async function pruneIdleConsumers(
  redis: RedisClient,
  key: string,
  group: string,
  self: string,
  minIdleMs: number,
): Promise<number> {
  return Number(await redis.eval(PRUNE, 1, key, group, self, minIdleMs));
}

/** Live consumers read at least every block_ms and touch their entries every reclaim_idle_sec/3: well past both. */
export const idleConsumerMs = (cfg: { reclaimIdleSec: number; blockMs: number }): number =>
  4 * Math.max(cfg.reclaimIdleSec * 1000, cfg.blockMs);

/**
 * Stream keys matching a SCAN pattern. A cluster's keys are spread over its masters, and SCAN sees
 * one node's: it runs on every master (ioredis' view of them, refreshed after a failover).
 */
export async function scanStreams(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of isCluster(redis) ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = (await node.call(
        'SCAN',
        cursor,
        'MATCH',
        pattern,
        'COUNT',
        500,
        'TYPE',
        'stream',
      )) as [string, string[]];
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}
