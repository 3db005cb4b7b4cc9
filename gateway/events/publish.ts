// Appending events to topic streams: POST /events/:topic and a function's context.emit. Each
// stream is trimmed to about topic_maxlen entries (a topic its readers fall that far behind on
// loses its oldest events, as a bounded log must). On a replicated Redis (Cluster, Sentinel) a
// write is answered only once a replica has it, or replica_wait_ms passed (replication.ts).
import type { RuntimeConfig } from '../../runtime/config.ts';
import type { Keys } from './keys.ts';
import { isCluster, type RedisClient } from './redis.ts';
import { durably, type Durability } from './replication.ts';
import { flatten } from './streams.ts';

export interface Append {
  topic: string;
  fields: Record<string, string | undefined>;
}

interface Target {
  redis: RedisClient;
  keys: Keys;
  cfg: RuntimeConfig['events'];
  durability: Durability;
}

/** One event; answers its entry id. One XADD on one node, as fast as it was before clusters. */
export async function appendEvent(t: Target, e: Append): Promise<string> {
  const args = [t.keys.topic(e.topic), 'MAXLEN', '~', t.cfg.topic_maxlen, '*'] as const;
  if (!t.durability.replicated) return (await t.redis.xadd(...args, ...flatten(e.fields)))!;
  const [id] = await durably(t.redis, t.durability, (p) => p.xadd(...args, ...flatten(e.fields)));
  return String(id);
}

/**
 * One invocation's emits. On one node (or Sentinel's primary) one MULTI: published whole or not at
 * all. A cluster spreads topics over slots, where no MULTI reaches: the emits are appended one
 * after another, in order, and a failure part-way fails the invocation with the first ones
 * published; its retry publishes them again (at least once, as everything here).
 */
export async function appendEmits(t: Target, emits: Append[]): Promise<void> {
  const add = (p: Parameters<Parameters<typeof durably>[2]>[0], e: Append) =>
    p.xadd(t.keys.topic(e.topic), 'MAXLEN', '~', t.cfg.topic_maxlen, '*', ...flatten(e.fields));
  if (isCluster(t.redis)) {
    for (const e of emits) await durably(t.redis, t.durability, (p) => add(p, e));
    return;
  }
  await durably(
    t.redis,
    t.durability,
    (tx) => {
      for (const e of emits) add(tx, e);
    },
    true,
  );
}
