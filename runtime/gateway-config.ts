// The `gateway:` section of the configuration: where the gateway listens, and what it lets in (hosts,
// origins, body size, timeouts, connections). Part of ConfigSchema (config.ts).
import * as v from 'valibot';
import { camelKeys, int, nonEmpty, strictObject } from './schema-util.ts';

/**
 * A name the gateway answers to besides the loopback ones: a host name or address without a port
 * (ports are ignored), or `*.example.com` for its subdomains. `*` alone is refused: DNS rebinding
 * works by giving an attacker's own name the gateway's address, so "any name" is no check at all.
 */
const AllowedHost = v.pipe(
  v.string(),
  v.check(
    (h) => h !== '*',
    'must name hosts: "*" would accept any DNS name, which is what DNS rebinding needs; list the names (or *.example.com)',
  ),
  v.regex(
    /^(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$|^\[[0-9A-Fa-f:.]+\]$/,
    (i) =>
      `must be a host name or address without a port, such as titan.example.com, *.example.com, 10.0.0.5 or [fd00::5] (got ${JSON.stringify(i.input)})`,
  ),
);

/** The origin a browser would send for `s`, when `s` is an http(s) URL. */
const canonicalOrigin = (s: string): string | undefined => {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
};

/** Compared exactly with the Origin header, so it must be written as browsers write it. */
const CorsOrigin = v.pipe(
  v.string(),
  v.check(
    (o) => canonicalOrigin(o) === o,
    (i) => {
      const canon = canonicalOrigin(String(i.input));
      const hint = canon ? `; did you mean ${JSON.stringify(canon)}?` : '';
      return `must be an origin as a browser sends it: scheme://host[:port], no path and no * (got ${JSON.stringify(i.input)}${hint})`;
    },
  ),
);

const CorsSchema = camelKeys(
  strictObject({
    /** origins (web apps) whose pages may call the gateway; every other origin gets 403 forbidden_origin */
    allow_origins: v.optional(v.array(CorsOrigin), []),
    /** request headers those pages may send, beyond content-type and authorization */
    allow_headers: v.optional(
      v.array(
        v.pipe(
          v.string(),
          v.regex(
            /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/,
            (i) => `must be a header name (got ${JSON.stringify(i.input)})`,
          ),
        ),
      ),
      [],
    ),
    /** how long a browser may cache a preflight answer */
    max_age_sec: v.optional(int(0, 86_400), 600),
  }),
);

const TimeoutLimit = v.pipe(v.number(), v.gtValue(0), v.maxValue(3600));

export const GatewaySchema = camelKeys(
  v.pipe(
    strictObject({
      host: v.optional(nonEmpty, '127.0.0.1'),
      /** 0 lets the OS pick a free port (tests use this). */
      port: v.optional(int(0, 65535), 8080),
      max_body_bytes: v.optional(int(1), 1048576),
      allowed_hosts: v.optional(v.array(AllowedHost), []),
      cors: v.nullish(CorsSchema, {}),
      /** a client must have sent its request headers within this long of connecting (slow-loris) */
      headers_timeout_sec: v.optional(TimeoutLimit, 10),
      /** ... and its whole request, body included; the function's run time is not part of it */
      request_timeout_sec: v.optional(TimeoutLimit, 60),
      /** an idle keep-alive connection is closed after this long */
      keep_alive_timeout_sec: v.optional(TimeoutLimit, 5),
      /** open connections at most; the OS accepts more, the gateway closes them at once */
      max_connections: v.optional(int(1), 1024),
    }),
    // Node refuses a headers timeout longer than the request timeout; say so in config terms instead.
    v.forward(
      v.partialCheck(
        [['headers_timeout_sec'], ['request_timeout_sec']],
        (g) => g.headers_timeout_sec <= g.request_timeout_sec,
        (i) => {
          const g = i.input as { headers_timeout_sec: number; request_timeout_sec: number };
          return `must be <= gateway.request_timeout_sec (got ${g.headers_timeout_sec}, request_timeout_sec ${g.request_timeout_sec})`;
        },
      ),
      ['headers_timeout_sec'],
    ),
  ),
);
