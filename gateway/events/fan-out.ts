// One batch read from a topic, fanned out to the work queues of its functions in a single Redis
// command: a Lua script that checks each queue's bound (queue_maxlen), XADDs to it or dead-letters
// the event as overloaded, then acknowledges the whole batch. Atomic as the MULTI it replaces, and one
// round trip and one reply per batch instead of an XLEN read, then two commands and replies per event.
// Every key it touches is passed in KEYS (built by keys.ts). On a Redis Cluster those keys are in
// different slots: fan-out-cluster.ts does the same in steps there, and `fanOut` picks per client.
import { fanOutAcrossSlots } from './fan-out-cluster.ts';
import { isCluster, type RedisClient } from './redis.ts';
import type { Durability } from './replication.ts';
import { flatten } from './streams.ts';

// KEYS: topic stream, DLQ, then one work queue per function (F of them).
// ARGV: group, queue_maxlen, dlq_maxlen, F, then per function its name and its overload error (JSON,
// with @N@ where the queue's length goes), then per entry: id, target count T (-1: malformed), T
// function indexes (1-based), field count, fields. A malformed entry's fields are its whole DLQ
// record; a routed entry's are its job. Answers the events dead-lettered per function, in KEYS order.
const FAN_OUT = `
local group, maxlen, dlqmax, f = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local queued, full = {}, {}
for i = 1, f do queued[i] = redis.call('XLEN', KEYS[2 + i]); full[i] = 0 end
local ids = {}
local a = 5 + 2 * f
while a <= #ARGV do
  local id, t = ARGV[a], tonumber(ARGV[a + 1])
  ids[#ids + 1] = id
  a = a + 2
  local targets = {}
  for k = 1, math.max(t, 0) do targets[k] = tonumber(ARGV[a]); a = a + 1 end
  local n = tonumber(ARGV[a])
  local fields = {}
  for k = 1, n do fields[k] = ARGV[a + k] end
  a = a + n + 1
  if t < 0 then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', dlqmax, '*', unpack(fields))
  else
    for _, i in ipairs(targets) do
      if queued[i] < maxlen then
        redis.call('XADD', KEYS[2 + i], '*', unpack(fields))
        queued[i] = queued[i] + 1
      else
        local template = ARGV[4 + 2 * i]
        local at = string.find(template, '@N@', 1, true)
        local dead = { unpack(fields) }
        dead[#dead + 1] = 'function'; dead[#dead + 1] = ARGV[3 + 2 * i]
        dead[#dead + 1] = 'error'; dead[#dead + 1] = string.sub(template, 1, at - 1) .. queued[i] .. string.sub(template, at + 3)
        dead[#dead + 1] = 'attempts'; dead[#dead + 1] = '0'
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', dlqmax, '*', unpack(dead))
        full[i] = full[i] + 1
      end
    end
  end
end
for s = 1, #ids, 1000 do
  redis.call('XACK', KEYS[1], group, unpack(ids, s, math.min(s + 999, #ids)))
end
return full
`;

export type Routed =
  /** nothing can run on it: straight to the DLQ with this record, and acknowledged */
  | { id: string; dlq: Record<string, string | undefined> }
  /** queued for each of `fns` (or dead-lettered as overloaded where a queue is full); none: acknowledged only */
  | { id: string; job: Record<string, string | undefined>; fns: string[] };

export interface FanOutKeys {
  topic: string;
  dlq: string;
  queue: (fn: string) => string;
}

export interface FanOutLimits {
  group: string;
  queue_maxlen: number;
  dlq_maxlen: number;
}

type WithFanOut = RedisClient & {
  titanFanOut(numKeys: number, ...args: Array<string | number>): Promise<number[]>;
};

/** EVALSHA, falling back to EVAL once after Redis lost its script cache (ioredis does that). */
function withScript(redis: RedisClient): WithFanOut {
  if (!('titanFanOut' in redis)) redis.defineCommand('titanFanOut', { lua: FAN_OUT });
  return redis as WithFanOut;
}

/** The DLQ error of an event routed to a full queue; replayable (POST /dlq/:id/replay) once it caught up. */
export const overloadError = (fn: string, queued: number | string, maxlen: number) => ({
  code: 'overloaded',
  message: `function '${fn}' has ${queued} entries queued or running, the most events.queue_maxlen allows (${maxlen})`,
});

/**
 * Queue (or dead-letter) and acknowledge `batch`; answers how many went to the DLQ per full
 * function. Atomically in one script on one node; in ordered steps on a cluster (fan-out-cluster.ts).
 */
export async function fanOut(
  redis: RedisClient,
  keys: FanOutKeys,
  limits: FanOutLimits,
  batch: Routed[],
  durability: Durability = { replicated: false, waitMs: 0 },
): Promise<Map<string, number>> {
  if (isCluster(redis)) return fanOutAcrossSlots(redis, keys, limits, batch, durability);
  const fns = [...new Set(batch.flatMap((e) => ('fns' in e ? e.fns : [])))];
  const index = new Map(fns.map((fn, i) => [fn, i + 1]));
  const args: Array<string | number> = [
    keys.topic,
    keys.dlq,
    ...fns.map(keys.queue),
    limits.group,
    limits.queue_maxlen,
    limits.dlq_maxlen,
    fns.length,
  ];
  for (const fn of fns) {
    args.push(fn, JSON.stringify(overloadError(fn, '@N@', limits.queue_maxlen)));
  }
  for (const e of batch) {
    const fields = flatten('dlq' in e ? e.dlq : e.job);
    if ('dlq' in e) args.push(e.id, -1);
    else args.push(e.id, e.fns.length, ...e.fns.map((fn) => index.get(fn)!));
    args.push(fields.length, ...fields);
  }
  const full = await withScript(redis).titanFanOut(2 + fns.length, ...args);
  return new Map(fns.map((fn, i) => [fn, Number(full[i])] as const).filter(([, n]) => n > 0));
}
