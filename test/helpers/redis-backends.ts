// The Redis deployments the multi-host tests run on, as a parameter: one redis-server (REDIS_URL,
// or a private one this test process starts), or a private Redis Cluster (redis-cluster.ts).
import type { Redis } from 'ioredis';
import { deletePrefix, redisClient, sharedRedisUrl } from './events.ts';
import { startRedisCluster } from './redis-cluster.ts';

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

export const singleNode: RedisBackendKind = {
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

/** Six redis-servers of this test (3 masters, 3 replicas), torn down with all their keys. */
export const redisCluster: RedisBackendKind = {
  name: 'a Redis Cluster, 3 masters and 3 replicas',
  start: async () => {
    const fixture = await startRedisCluster();
    return {
      url: fixture.url,
      // The commands the suite uses (XPENDING, XRANGE on one key) are the same on a cluster client.
      client: fixture.client() as unknown as Redis,
      queueKey: (prefix, fn) => `${prefix}titan.q.{${fn}}`,
      track: () => {},
      // teardown awaits the nodes' exits, and their processes are unref'd: with nothing else left
      // (the gateways closed before), Node would end the test with that promise pending. Hold the
      // loop open until they are gone.
      close: async () => {
        const hold = setInterval(() => {}, 1_000);
        try {
          await fixture.teardown();
        } finally {
          clearInterval(hold);
        }
      },
    };
  },
};
