// Writes that someone is told succeeded (a publish answered with its id, an async call's 202) or
// that another step relies on (a fan-out's queue entries before the topic is acknowledged, an
// outcome before its queue entry is) must survive a failover. Redis replicates asynchronously: a
// master killed right after answering can take the write along, and its replica, promoted, never
// had it. On a replicated deployment (Cluster, Sentinel) such writes are followed by
// `WAIT 1 <replica_wait_ms>` on the same connection (a pipeline goes to one node), which returns
// once a replica has them. A master with no replica left (its replica was just promoted) answers 0
// after the timeout: the write stands, as durable as that deployment can make it.
import type { ChainableCommander } from 'ioredis';
import { isCluster, type RedisClient } from './redis.ts';

export interface Durability {
  /** false on one node: nothing to wait for (and WAIT would only time out) */
  replicated: boolean;
  waitMs: number;
}

/**
 * Run `build`'s commands as one pipeline (their keys in one slot, as a Cluster pipeline requires),
 * followed by WAIT when replicated; answers their replies, throwing the first error.
 */
export async function durably(
  redis: RedisClient,
  d: Durability,
  build: (p: ChainableCommander) => void,
  transaction = false,
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
