// Redis connections for the event system. Commands fail fast while Redis is away (no offline
// queue), so HTTP work never hangs on it; blocking reads get connections of their own.
import { Redis, type RedisOptions } from 'ioredis';

export function redisOptionsFromUrl(url: string): RedisOptions & { path?: string } {
  if (url.startsWith('unix://')) return { path: url.slice('unix://'.length) };
  if (url.startsWith('/')) return { path: url };
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
  };
}

/** Reconnect forever, backing off to 2 s; the event system reports the state in /healthz. */
const retryStrategy = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2000);

export function connectRedis(url: string, name: string, blocking = false): Redis {
  return new Redis({
    ...redisOptionsFromUrl(url),
    connectionName: name,
    lazyConnect: true,
    retryStrategy,
    // Blocking reads must not be cut off by the per-request retry limit (BullMQ's rule).
    maxRetriesPerRequest: blocking ? null : 1,
    enableOfflineQueue: blocking,
  });
}

/** For logs and /healthz: never show a password. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
