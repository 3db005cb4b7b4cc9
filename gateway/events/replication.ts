// Writes that someone is told succeeded (a publish answered with its id, an async call's 202) or
// that another step relies on (a fan-out's queue entries before the topic is acknowledged, an
// outcome before its queue entry is) must survive a failover. Redis replicates asynchronously: a
// master killed right after answering can take the write along, and its replica, promoted, never
// had it. On a replicated deployment (Cluster, Sentinel) such writes are followed by
// `WAIT 1 <replica_wait_ms>` on the same connection (a pipeline goes to one node), which returns
// once a replica has them. A master with no replica left (its replica was just promoted) answers 0
// after the timeout: the write stands, as durable as that deployment can make it.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChainableCommander } from 'ioredis';
import { TitanError } from '../../runtime/errors.ts';
import { isCluster, type RedisClient } from './redis.ts';

export interface Durability {
  /** false on one node: nothing to wait for (and WAIT would only time out) */
  replicated: boolean;
  waitMs: number;
}

/**
 * Answers that mean "not run, the cluster is moving": a failover under way (CLUSTERDOWN, TRYAGAIN)
 * or a slot now served elsewhere (MOVED, ASK; ioredis learns the new owner from the answer).
 * ioredis redirects a lone command itself, but not a pipeline whose WAIT did run.
 */
const MOVING = /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN) /;
/** A failover takes the cluster a few seconds (cluster-node-timeout plus an election). */
const MOVING_RETRIES = 30;
const MOVING_DELAY_MS = 200;

/** Redis answers these while a failover is under way: nothing was written, try again later. */
const FAILING_OVER = /^(READONLY|LOADING|MASTERDOWN|NOREPLICAS) /;

/**
 * Whether `err` says Redis could not be reached or is changing primaries, rather than that it refused
 * the command (a ReplyError: WRONGTYPE, a script error: a bug, reported as such). The client's own
 * errors (a connection closed, not writeable, reset, refused, timed out) are all the former, however
 * ioredis words them.
 */
function unreachable(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof TitanError) return false;
  if (err.name !== 'ReplyError') return true;
  return FAILING_OVER.test(err.message);
}

/**
 * `durablyOnce`, again while the cluster is moving (nothing of it ran then); past that, or on a
 * Redis away, events_unavailable (503), never an unexplained 500.
 */
export async function durably(
  redis: RedisClient,
  d: Durability,
  build: (p: ChainableCommander) => void,
  transaction = false,
): Promise<unknown[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await durablyOnce(redis, d, build, transaction);
    } catch (err) {
      const message = String((err as Error)?.message);
      if (MOVING.test(message) && attempt < MOVING_RETRIES) {
        // ioredis refreshes its slot map on a lone command's MOVED, not on a pipeline's: ask it to.
        if (isCluster(redis)) redis.refreshSlotsCache();
        await sleep(MOVING_DELAY_MS);
        continue;
      }
      if (MOVING.test(message) || unreachable(err))
        throw new TitanError('events_unavailable', `redis is failing over or away: ${message}`);
      throw err;
    }
  }
}

/**
 * Run `build`'s commands as one pipeline (their keys in one slot, as a Cluster pipeline requires),
 * followed by WAIT when replicated; answers their replies, throwing the first error.
 */
async function durablyOnce(
  redis: RedisClient,
  d: Durability,
  build: (p: ChainableCommander) => void,
  transaction: boolean,
): Promise<unknown[]> {
  const p = transaction ? redis.multi() : redis.pipeline();
  build(p);
  const n = p.length;
  if (d.replicated && d.waitMs > 0) {
    if (transaction) {
      // WAIT inside MULTI would not wait. After EXEC, on the same connection: only one node's
      // client has one (a keyless command on a Cluster goes to any node), and a MULTI across topics
      // is only ever sent to one node (Sentinel) anyway.
      if (isCluster(redis)) throw new Error('durably: a transaction with WAIT needs one node');
      const replies = await exec(p);
      await redis.call('WAIT', 1, d.waitMs);
      return replies;
    }
    p.call('WAIT', 1, d.waitMs);
  }
  return (await exec(p)).slice(0, n);
}

async function exec(p: ChainableCommander): Promise<unknown[]> {
  const res = await p.exec();
  if (!res) throw new Error('transaction discarded');
  const failed = res.find(([err]) => err);
  if (failed) throw failed[0];
  return res.map(([, v]) => v);
}
