// An async invocation's record as GET /invocations/:id shows it. The record is one hash keyed by
// the invocation id alone (titan.invocation:<id>), so any gateway sharing the Redis (one node,
// Sentinel or Cluster) finds it from the id the caller was given.
import { TitanError } from '../../runtime/errors.ts';
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export async function getInvocation(
  redis: RedisClient,
  keys: Keys,
  id: string,
): Promise<Record<string, unknown>> {
  const h = await redis.hgetall(keys.invocation(id));
  if (!h.status)
    throw new TitanError(
      'not_found',
      `no async invocation '${id}' (unknown, or its result expired)`,
    );
  const out: Record<string, unknown> = {
    invocationId: id,
    function: h.function,
    status: h.status,
    created_at: h.created_at,
  };
  if (h.finished_at)
    Object.assign(out, { finished_at: h.finished_at, duration_ms: Number(h.duration_ms) });
  if (h.result !== undefined) out.result = JSON.parse(h.result);
  if (h.error !== undefined)
    Object.assign(out, { error: JSON.parse(h.error), attempts: Number(h.attempts) });
  return out;
}
