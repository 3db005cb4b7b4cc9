// Redis connections for the event system. Commands fail fast while Redis is away (no offline
// queue), so HTTP work never hangs on it; blocking reads get connections of their own.
// One node (redis://, rediss://, unix://), a Redis Cluster (redis-cluster://h1:p1,h2:p2, through
// ioredis' Cluster) or a Sentinel-managed primary (redis-sentinel://h1:p1,h2:p2/name, through
// ioredis' Sentinel support): the rest of the event system sees a `RedisClient` either way.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { TitanError } from '../../runtime/errors.ts';

export type RedisClient = Redis | Cluster;

const SCHEMES = ['redis:', 'rediss:'];
const FORMS =
  'expected redis://host:port, rediss://host:port, unix:///path/to/socket, /path/to/socket, ' +
  'redis-cluster://host:port,host:port (rediss-cluster:// for TLS) or ' +
  'redis-sentinel://host:port,host:port/primary-name (rediss-sentinel:// for TLS)';

const invalid = (why: string) => new TitanError('invalid_config', `redis url: ${why}`);

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
    throw invalid(`${FORMS} (got ${scheme})`);
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

export type RedisTarget =
  | { kind: 'single'; options: RedisOptions & { path?: string } }
  | { kind: 'cluster'; nodes: HostPort[]; options: RedisOptions }
  | { kind: 'sentinel'; sentinels: HostPort[]; name: string; options: RedisOptions };

export interface HostPort {
  host: string;
  port: number;
}

const MULTI = /^(rediss?)-(cluster|sentinel):\/\/(.*)$/s;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** seed nodes or sentinels in one URL: more is a mistake (or an attempt to make us dial the world) */
export const MAX_NODES = 16;

/**
 * Any REDIS_URL form. Errors say what is wrong and where (node 2, the primary name) but never
 * echo any part of the URL: a mistyped one may carry its password anywhere.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const m = MULTI.exec(url);
  if (!m) return { kind: 'single', options: redisOptionsFromUrl(url) };
  const [, scheme, kind, rest] = m as unknown as [string, string, 'cluster' | 'sentinel', string];
  const at = rest.lastIndexOf('@');
  const userinfo = at >= 0 ? rest.slice(0, at) : '';
  const afterAuth = at >= 0 ? rest.slice(at + 1) : rest;
  const slash = afterAuth.indexOf('/');
  const hostList = slash >= 0 ? afterAuth.slice(0, slash) : afterAuth;
  const path = slash >= 0 ? afterAuth.slice(slash + 1) : '';
  const defaultPort = kind === 'sentinel' ? 26379 : 6379;
  const parts = hostList.split(',');
  if (hostList === '') throw invalid(`${scheme}-${kind}:// names no node (${FORMS})`);
  if (parts.length > MAX_NODES)
    throw invalid(`${parts.length} nodes in one url; at most ${MAX_NODES} (seed nodes suffice)`);
  const nodes = parts.map((p, i) => hostPort(p, i + 1, defaultPort));
  const seen = new Set(nodes.map((n) => `${n.host}:${n.port}`));
  if (seen.size !== nodes.length) throw invalid('the same node is named twice');
  const options: RedisOptions = { ...(scheme === 'rediss' ? { tls: {} } : {}), ...auth(userinfo) };
  if (kind === 'cluster') {
    if (path !== '')
      throw invalid(
        'a cluster url takes no path: Redis Cluster has database 0 only (redis-cluster://h1:p1,h2:p2)',
      );
    return { kind, nodes, options };
  }
  const [name, db, ...more] = path.split('/');
  if (!name || !NAME.test(name) || more.length)
    throw invalid(
      `a sentinel url ends with the monitored primary's name, letters, digits, '.', '_', '-' ` +
        `(redis-sentinel://h1:26379,h2:26379/mymaster[/db])`,
    );
  if (db !== undefined && !/^\d{1,2}$/.test(db))
    throw invalid('the database after the primary name must be a number from 0 to 99');
  return {
    kind,
    sentinels: nodes,
    name,
    options: { ...options, ...(db !== undefined ? { db: Number(db) } : {}) },
  };
}

function hostPort(part: string, n: number, defaultPort: number): HostPort {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(part);
  if (!m || !HOST.test(m[1]!))
    throw invalid(`node ${n}: expected host or host:port (a hostname, IPv4 or [IPv6] address)`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) throw invalid(`node ${n}: the port must be from 1 to 65535`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

function auth(userinfo: string): Pick<RedisOptions, 'username' | 'password'> {
  if (userinfo === '') return {};
  const colon = userinfo.indexOf(':');
  const [user, pass] =
    colon >= 0 ? [userinfo.slice(0, colon), userinfo.slice(colon + 1)] : ['', userinfo];
  try {
    return {
      ...(user ? { username: decodeURIComponent(user) } : {}),
      ...(pass ? { password: decodeURIComponent(pass) } : {}),
    };
  } catch {
    throw invalid('the user or password is not valid percent-encoding');
  }
}

/** Reconnect forever, backing off to 2 s; the event system reports the state in /healthz. */
const retryStrategy = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2000);

export function connectRedis(url: string, name: string, blocking = false): RedisClient {
  const target = parseRedisUrl(url);
  const common = {
    connectionName: name,
    // Blocking reads must not be cut off by the per-request retry limit (BullMQ's rule).
    maxRetriesPerRequest: blocking ? null : 1,
  };
  if (target.kind === 'cluster') {
    const options: ClusterOptions = {
      lazyConnect: true,
      enableOfflineQueue: blocking,
      clusterRetryStrategy: retryStrategy,
      // After a failover, MOVED and CLUSTERDOWN are retried here while the slots are refreshed.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      redisOptions: { ...target.options, ...common },
    };
    return new Cluster(target.nodes, options);
  }
  return new Redis({
    ...(target.kind === 'sentinel'
      ? {
          ...target.options,
          sentinels: target.sentinels,
          name: target.name,
          ...(target.options.tls ? { enableTLSForSentinelMode: true } : {}),
          sentinelRetryStrategy: retryStrategy,
        }
      : target.options),
    ...common,
    lazyConnect: true,
    retryStrategy,
    enableOfflineQueue: blocking,
  });
}

export const isCluster = (r: RedisClient): r is Cluster => r instanceof Cluster;

/**
 * Where a write can be lost: a replicated deployment (cluster or sentinel), whose replicas copy
 * asynchronously, so a master killed right after acknowledging a write can take it along.
 */
export const isReplicated = (url: string): boolean => parseRedisUrl(url).kind !== 'single';

/** For logs and /healthz: never show a password (up to the last `@`: a password may hold one). */
export function redactUrl(url: string): string {
  const start = url.indexOf('//');
  const at = url.lastIndexOf('@');
  if (start < 0 || at < start) return url;
  const userinfo = url.slice(start + 2, at);
  const colon = userinfo.indexOf(':');
  return `${url.slice(0, start + 2)}${colon >= 0 ? `${userinfo.slice(0, colon)}:***` : '***'}${url.slice(at)}`;
}
