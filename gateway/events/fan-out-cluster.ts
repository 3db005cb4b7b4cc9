// The fan-out of one batch on a Redis Cluster, where the topic, the DLQ and each function's queue
// live in slots of their own, so no one script can touch them all (fan-out.ts does, on one node).
// Ordered "downstream first, acknowledge last": each queue's entries (bounded by queue_maxlen in a
// script on that queue alone), then the DLQ records, each step waiting for a replica
// (replication.ts), and only then XACK on the topic. A crash or failover between the steps leaves
// the batch pending on the topic: it is routed again (reclaimed, or re-read by this consumer), so a
// function may see an event twice, never zero times.
import { durably, type Durability } from './replication.ts';
import type { RedisClient } from './redis.ts';
import { overloadError, type FanOutKeys, type FanOutLimits, type Routed } from './fan-out.ts';
import { flatten } from './streams.ts';

// KEYS: one work queue. ARGV: queue_maxlen, then per entry its field count and fields. Answers, per
// entry that did not fit, its 1-based index and the queue's length then.
const QUEUE_WITHIN = `
local maxlen = tonumber(ARGV[1])
local queued = redis.call('XLEN', KEYS[1])
local refused = {}
local a, i = 2, 0
while a <= #ARGV do
  i = i + 1
  local n = tonumber(ARGV[a])
  if queued < maxlen then
    redis.call('XADD', KEYS[1], '*', unpack(ARGV, a + 1, a + n))
    queued = queued + 1
  else
    refused[#refused + 1] = i
    refused[#refused + 1] = queued
  end
  a = a + n + 1
end
return refused
`;

export async function fanOutAcrossSlots(
  redis: RedisClient,
  keys: FanOutKeys,
  limits: FanOutLimits,
  batch: Routed[],
  d: Durability,
): Promise<Map<string, number>> {
  const dead: string[][] = [];
  for (const e of batch) if ('dlq' in e) dead.push(flatten(e.dlq));
  const byFn = new Map<string, Array<Record<string, string | undefined>>>();
  for (const e of batch)
    if ('fns' in e) for (const fn of e.fns) byFn.set(fn, [...(byFn.get(fn) ?? []), e.job]);
  const full = new Map<string, number>();
  // Queues in parallel: each is one script on its own node.
  await Promise.all(
    [...byFn].map(async ([fn, jobs]) => {
      const args: Array<string | number> = [limits.queue_maxlen];
      const flat = jobs.map(flatten);
      for (const f of flat) args.push(f.length, ...f);
      const [refused] = (await durably(redis, d, (p) =>
        p.eval(QUEUE_WITHIN, 1, keys.queue(fn), ...args),
      )) as [number[]];
      for (let i = 0; i + 1 < refused.length; i += 2) {
        const error = JSON.stringify(
          overloadError(fn, Number(refused[i + 1]), limits.queue_maxlen),
        );
        dead.push([
          ...flat[Number(refused[i]) - 1]!,
          'function',
          fn,
          'error',
          error,
          'attempts',
          '0',
        ]);
      }
      if (refused.length) full.set(fn, refused.length / 2);
    }),
  );
  if (dead.length)
    await durably(redis, d, (p) => {
      for (const f of dead) p.xadd(keys.dlq, 'MAXLEN', '~', limits.dlq_maxlen, '*', ...f);
    });
  const ids = batch.map((e) => e.id);
  for (let s = 0; s < ids.length; s += 1000)
    await redis.xack(keys.topic, limits.group, ...ids.slice(s, s + 1000));
  return full;
}
