// How far behind the readers are, for /metrics and the dashboard: per topic, entries the group has
// not read yet; per function queue, entries not read yet and read but not acknowledged. Redis 7
// reports both in XINFO GROUPS; a key missing (or a Redis away) counts as nothing to report.
import { fieldsToRecord } from './event.ts';
import type { RedisClient } from './redis.ts';

async function groupInfo(
  redis: RedisClient,
  key: string,
  group: string,
): Promise<Record<string, string> | undefined> {
  const groups = (await redis.call('XINFO', 'GROUPS', key).catch(() => [])) as unknown[][];
  return groups.map((g) => fieldsToRecord(g.map(String))).find((g) => g.name === group);
}

export async function topicLag(
  redis: RedisClient,
  group: string,
  topics: Array<{ topic: string; key: string }>,
): Promise<Array<{ topic: string; lag: number }>> {
  const out: Array<{ topic: string; lag: number }> = [];
  for (const { topic, key } of topics) {
    const info = await groupInfo(redis, key, group);
    if (info?.lag !== undefined && info.lag !== '') out.push({ topic, lag: Number(info.lag) });
  }
  return out;
}

export async function queueLag(
  redis: RedisClient,
  group: string,
  queues: Array<{ fn: string; key: string }>,
): Promise<Array<{ function: string; lag: number; pending: number }>> {
  const out: Array<{ function: string; lag: number; pending: number }> = [];
  for (const { fn, key } of queues) {
    const info = await groupInfo(redis, key, group);
    if (info)
      out.push({ function: fn, lag: Number(info.lag) || 0, pending: Number(info.pending) || 0 });
  }
  return out;
}
