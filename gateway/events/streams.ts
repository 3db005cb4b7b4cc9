// Small typed wrappers over the stream commands the event system uses (ioredis types them loosely).
import type { Redis } from 'ioredis';

export type Entry = [id: string, fields: string[]];
export type ReadReply = Array<[key: string, entries: Entry[]]> | null;

/** Create a consumer group; an existing one is fine (that is how we resume where it left off). */
export async function ensureGroup(redis: Redis, key: string, group: string, from: string): Promise<void> {
  try {
    await redis.call('XGROUP', 'CREATE', key, group, from, 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
  }
}

export async function readGroup(
  redis: Redis,
  group: string,
  consumer: string,
  keys: string[],
  count: number,
  blockMs: number,
): Promise<ReadReply> {
  const ids = keys.map(() => '>');
  const reply = (await redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', ...keys, ...ids)) as unknown[] | null;
  return reply ? pairsOf(reply) : null;
}

/**
 * XREADGROUP answers one [key, entries] pair per stream; ioredis 6 hands that map-like reply to
 * `call` flattened ([k1, e1, k2, e2]). Accept both shapes.
 */
function pairsOf(reply: unknown[]): Array<[string, Entry[]]> {
  if (reply.length === 0 || Array.isArray(reply[0])) return reply as Array<[string, Entry[]]>;
  const out: Array<[string, Entry[]]> = [];
  for (let i = 0; i + 1 < reply.length; i += 2) out.push([reply[i] as string, reply[i + 1] as Entry[]]);
  return out;
}

/**
 * This consumer's own pending entries (read, not yet acknowledged), oldest first; never blocks.
 * After an error between a read and its acknowledgement (Redis went away under the command
 * connection while the blocking one had just read), these are ours to finish: waiting for
 * XAUTOCLAIM would stall them for reclaim_idle_sec.
 */
export async function readOwnPending(redis: Redis, group: string, consumer: string, key: string, count: number): Promise<Entry[]> {
  const reply = (await redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', key, '0')) as unknown[] | null;
  // Entries deleted while pending come back with null fields: nothing left to process.
  return (reply ? pairsOf(reply) : []).flatMap(([, entries]) => entries).filter((e) => e[1] !== null);
}

/** Take over entries another consumer left pending for longer than minIdleMs. */
export async function autoClaim(redis: Redis, key: string, group: string, consumer: string, minIdleMs: number, count: number): Promise<Entry[]> {
  const reply = (await redis.call('XAUTOCLAIM', key, group, consumer, minIdleMs, '0-0', 'COUNT', count)) as [string, Array<Entry | null>];
  // Entries deleted while pending come back as null (Redis 7); they have nothing left to process.
  return reply[1].filter((e): e is Entry => e !== null && e[1] !== null);
}

export const isNoGroup = (err: unknown): boolean => String((err as Error)?.message).includes('NOGROUP');

export function flatten(fields: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out.push(k, v);
  return out;
}
