// Redis connections for the event system. Commands fail fast while Redis is away (no offline
// queue), so HTTP work never hangs on it; blocking reads get connections of their own.
import { Redis, type RedisOptions } from 'ioredis';
import { TitanError } from '../../runtime/errors.ts';

const SCHEMES = ['redis:', 'rediss:'];

/** redis://[user:password@]host[:port][/db], rediss:// (TLS), unix:///path or /path to a socket. */
export function redisOptionsFromUrl(url: string): RedisOptions & { path?: string } {
  if (url.startsWith('unix://')) return { path: url.slice('unix://'.length) };
  if (url.startsWith('/')) return { path: url };
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    // reported below, without echoing a URL that may hold a password
  }
  if (!u || !SCHEMES.includes(u.protocol)) {
    const scheme = u ? u.protocol.slice(0, -1) : 'unparseable';
    throw new TitanError(
      'invalid_config',
      `redis url: expected redis://host:port, rediss://host:port, unix:///path/to/socket or /path/to/socket (got ${scheme})`,
    );
  }
  return {
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
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
