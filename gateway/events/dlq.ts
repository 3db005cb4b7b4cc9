// The dead-letter queue as the routes see it: list it, and replay an entry onto its function's
// queue. On a Redis Cluster the queue and the DLQ are in different slots: the entry is queued
// (waiting for a replica) before it is deleted from the DLQ, so a crash in between leaves it in
// both, to be run once more if replayed again; never in neither.
import { TitanError } from '../../runtime/errors.ts';
import { fieldsToRecord } from './event.ts';
import type { Keys } from './keys.ts';
import { isCluster, type RedisClient } from './redis.ts';
import { durably, type Durability } from './replication.ts';
import { flatten } from './streams.ts';

export async function listDlq(
  redis: RedisClient,
  keys: Keys,
  count: number,
): Promise<Array<Record<string, string> & { id: string }>> {
  const entries = (await redis.xrevrange(keys.dlq, '+', '-', 'COUNT', count)) as Array<
    [string, string[]]
  >;
  return entries.map(([id, flat]) => ({ id, ...fieldsToRecord(flat) }));
}

/** Put a dead-lettered entry back on its function's queue, attempts reset; removes it from the DLQ. */
export async function replayDlq(
  redis: RedisClient,
  keys: Keys,
  d: Durability,
  id: string,
): Promise<{ id: string; function: string; queued: string }> {
  const [entry] = (await redis.xrange(keys.dlq, id, id)) as Array<[string, string[]]>;
  if (!entry) throw new TitanError('not_found', `no DLQ entry '${id}'`);
  const { function: fn, error: _e, attempts: _a, ...original } = fieldsToRecord(entry[1]);
  if (!fn)
    throw new TitanError(
      'invalid_request',
      `DLQ entry '${id}' is a malformed event that matched no function; fix it and publish it again`,
    );
  const job = flatten({ ...original, kind: original.kind ?? 'event' });
  if (isCluster(redis)) {
    const [queued] = await durably(redis, d, (p) => p.xadd(keys.queue(fn), '*', ...job));
    await redis.xdel(keys.dlq, id);
    return { id, function: fn, queued: String(queued) };
  }
  const [queued] = await durably(
    redis,
    d,
    (tx) => tx.xadd(keys.queue(fn), '*', ...job).xdel(keys.dlq, id),
    true,
  );
  return { id, function: fn, queued: String(queued) };
}
