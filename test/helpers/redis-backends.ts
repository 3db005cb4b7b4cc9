// The Redis deployments the multi-host tests run on, as a parameter: one redis-server (REDIS_URL,
// or a private one this test process starts) and, where the event system supports it, a cluster.
import type { Redis } from 'ioredis';
import { deletePrefix, redisClient, sharedRedisUrl } from './events.ts';

export interface RedisBackend {
  /** what the gateways are given as REDIS_URL */
  url: string;
  /** a client for assertions (XPENDING, XRANGE) */
  client: Redis;
  /** a function's work queue under a prefix (a cluster tags it with the function's name) */
  queueKey(prefix: string, fn: string): string;
  /** remove this key prefix's keys on close */
  track(prefix: string): void;
  close(): Promise<void>;
}

export interface RedisBackendKind {
  name: string;
  start(): Promise<RedisBackend>;
}

const singleNode: RedisBackendKind = {
  name: 'one redis-server',
  start: async () => {
    const url = await sharedRedisUrl();
    const client = redisClient(url);
    const prefixes: string[] = [];
    return {
      url,
      client,
      queueKey: (prefix, fn) => `${prefix}titan.q.${fn}`,
      track: (p) => prefixes.push(p),
      close: async () => {
        for (const p of prefixes) await deletePrefix(client, p).catch(() => {});
        client.disconnect();
      },
    };
  },
};

export function redisBackends(): RedisBackendKind[] {
  return [singleNode];
}
