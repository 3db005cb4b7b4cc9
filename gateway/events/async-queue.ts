// Queueing an async invocation within its function's backlog bound (events.async_backlog_max).
// The bound is the queue's XLEN: the worker deletes an entry (XDEL) once it succeeded or was
// dead-lettered, so XLEN is exactly the function's work not yet done (waiting, running or between
// retries), events included: that is the work ahead of a new call. No counter that could drift
// from the queue. The check and the writes are one Lua script, so concurrent calls cannot overshoot
// the bound, and a refused call leaves neither a record nor an entry behind.
// On a Redis Cluster the record (titan.invocation:<id>, readable by id from any gateway) and the
// queue ({fn}-tagged) are in different slots: the record is written first, then the bounded XADD
// on the queue alone, and a refused call's record deleted again. A gateway dying in between leaves
// a `queued` record whose id nobody was given; it expires with async_result_ttl_sec.
import type { RedisClient } from './redis.ts';
import { OverloadedError } from '../../runtime/errors.ts';
import { isCluster } from './redis.ts';
import { durably, type Durability } from './replication.ts';

// KEYS: queue, invocation record. ARGV: max, ttl, invocation id, function, created_at, payload.
// Answers -1 when queued, else the backlog that refused it.
const ENQUEUE = `
local n = redis.call('XLEN', KEYS[1])
if n >= tonumber(ARGV[1]) then return n end
redis.call('HSET', KEYS[2], 'invocation_id', ARGV[3], 'function', ARGV[4], 'status', 'queued', 'created_at', ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('XADD', KEYS[1], '*', 'kind', 'async', 'invocation_id', ARGV[3], 'payload', ARGV[6])
return -1
`;

// KEYS: queue. ARGV: max, invocation id, payload. The queue's half of ENQUEUE, for a cluster.
const ENQUEUE_QUEUE_ONLY = `
local n = redis.call('XLEN', KEYS[1])
if n >= tonumber(ARGV[1]) then return n end
redis.call('XADD', KEYS[1], '*', 'kind', 'async', 'invocation_id', ARGV[2], 'payload', ARGV[3])
return -1
`;

/** How soon a refused caller may try again; the backlog drains at the function's pace, unknown here. */
export const BACKLOG_RETRY_AFTER_SEC = 1;

export interface AsyncEnqueue {
  queueKey: string;
  recordKey: string;
  fn: string;
  id: string;
  eventJson: string;
  backlogMax: number;
  recordTtlSec: number;
}

/** Queue it, or throw OverloadedError (429 with Retry-After) when the function's backlog is full. */
export async function enqueueWithinBacklog(
  redis: RedisClient,
  e: AsyncEnqueue,
  d: Durability = { replicated: false, waitMs: 0 },
): Promise<void> {
  const created = new Date().toISOString();
  let backlog: number;
  if (isCluster(redis)) {
    await durably(redis, d, (p) =>
      p
        .hset(
          e.recordKey,
          'invocation_id',
          e.id,
          'function',
          e.fn,
          'status',
          'queued',
          'created_at',
          created,
        )
        .expire(e.recordKey, e.recordTtlSec),
    );
    const [n] = await durably(redis, d, (p) =>
      p.eval(ENQUEUE_QUEUE_ONLY, 1, e.queueKey, e.backlogMax, e.id, e.eventJson),
    );
    backlog = Number(n);
    if (backlog >= 0) await redis.del(e.recordKey);
  } else {
    const [n] = await durably(redis, d, (p) =>
      p.eval(
        ENQUEUE,
        2,
        e.queueKey,
        e.recordKey,
        e.backlogMax,
        e.recordTtlSec,
        e.id,
        e.fn,
        created,
        e.eventJson,
      ),
    );
    backlog = Number(n);
  }
  if (backlog >= 0) {
    throw new OverloadedError(
      `function '${e.fn}' has ${backlog} invocations queued or running, the most events.async_backlog_max allows (${e.backlogMax}); try again later`,
      BACKLOG_RETRY_AFTER_SEC,
    );
  }
}
