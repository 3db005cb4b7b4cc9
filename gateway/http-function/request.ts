// What `/function/<name>/<path>?<query>` hands its handler: the HTTP request as a plain JSON event (the
// shape of Lambda's HTTP events). Built from the raw request line and headers, the same way on both
// request paths (the fast path and Hono's route), so a handler cannot tell which one served it.
import { isUtf8 } from 'node:buffer';
import type { HttpMethod } from '../../runtime/spec.ts';

/** The handler's `event` for a call to `/function/<name>/...`. */
export interface HttpFunctionEvent {
  method: HttpMethod;
  /** the part after the function's name, as sent (percent-encoding kept); `/` when there is none */
  path: string;
  /** the query string as sent, without `?`; `''` when there is none */
  rawQuery: string;
  /** the query decoded (`+` is a space); a key given more than once has an array of its values */
  query: Record<string, string | string[]>;
  /** lower-case names; repeated headers joined with `, `; the gateway's own ones left out (see eventHeaders) */
  headers: Record<string, string>;
  /** the body as text when it is UTF-8, else base64 with isBase64Encoded; `''` when there is none */
  body: string;
  isBase64Encoded: boolean;
}

/** The parts of a `/function/...` request target. */
export interface FunctionTarget {
  /** the name segment as sent: the caller validates it */
  name: string;
  path: string;
  rawQuery: string;
}

const FUNCTION_URL = /^\/function\/([^/?]+)([^?]*)(?:\?(.*))?$/s;

/** `/function/<name>[/<path>][?<query>]` → its parts, or undefined when the target is not one. */
export function parseFunctionUrl(url: string): FunctionTarget | undefined {
  const m = FUNCTION_URL.exec(url);
  if (!m) return undefined;
  return { name: m[1]!, path: m[2] || '/', rawQuery: m[3] ?? '' };
}

/**
 * A `.` or `..` segment (also spelt `%2e`), or a backslash. A URL parser (a proxy's, a browser's, the
 * one under Hono's route) resolves them into another path, possibly another function's; the gateway
 * refuses them rather than pick one reading.
 */
export const needsNormalising = (path: string): boolean =>
  path.includes('\\') || /\/(?:\.|%2e){1,2}(?:\/|$)/i.test(path);

/** The query decoded as browsers and URLSearchParams read it, repeated keys as arrays. */
export function parseQuery(rawQuery: string): Record<string, string | string[]> {
  // No prototype: a key named __proto__ is a key like any other.
  const query: Record<string, string | string[]> = Object.create(null);
  if (rawQuery === '') return query;
  // The leading '?' keeps a query that itself starts with '?' whole (the constructor drops one).
  for (const [k, v] of new URLSearchParams(`?${rawQuery}`)) {
    const had = query[k];
    if (had === undefined) query[k] = v;
    else if (Array.isArray(had)) had.push(v);
    else query[k] = [had, v];
  }
  return query;
}

/** Request headers about the client's connection to the gateway, not about the request (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
]);

export interface HeaderRules {
  /** whether this Authorization value carries the admin token: a function never receives it */
  isAdminToken: (authorization: string) => boolean;
}

/**
 * The headers a handler sees, from header lines as Node's rawHeaders holds them (name, value, name,
 * value...): names lower-cased, repeated ones joined with `, `, and without
 * - the hop-by-hop ones and those `Connection` names: they were about the connection to the gateway;
 * - `cookie`: cookies belong to a host, not to a port or a path, so a browser sends this gateway's
 *   functions the cookies of every other server on the same host (a notebook's login on
 *   localhost:8888, a dev app's session): no function author is given those;
 * - `authorization` when it is the admin token (the CLI sends it with every call once it is set).
 */
export function eventHeaders(
  lines: readonly string[],
  { isAdminToken }: HeaderRules,
): Record<string, string> {
  // No prototype: a header named __proto__ is a header like any other.
  const headers: Record<string, string> = Object.create(null);
  let connection: string | undefined;
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const key = lines[i]!.toLowerCase();
    const value = lines[i + 1]!;
    if (key === 'cookie' || HOP_BY_HOP.has(key)) {
      if (key === 'connection')
        connection = connection === undefined ? value : `${connection}, ${value}`;
      continue;
    }
    const had = headers[key];
    headers[key] = had === undefined ? value : `${had}, ${value}`;
  }
  if (connection !== undefined)
    for (const named of connection.split(',')) delete headers[named.trim().toLowerCase()];
  const auth = headers.authorization;
  if (auth !== undefined && isAdminToken(auth)) delete headers.authorization;
  return headers;
}

/** The body as the event carries it: UTF-8 text as it is (a BOM kept), anything else as base64. */
export function eventBody(body: Uint8Array): { body: string; isBase64Encoded: boolean } {
  if (body.length === 0) return { body: '', isBase64Encoded: false };
  const buf = Buffer.isBuffer(body)
    ? body
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return isUtf8(buf)
    ? { body: buf.toString('utf8'), isBase64Encoded: false }
    : { body: buf.toString('base64'), isBase64Encoded: true };
}

export interface EventParts {
  method: HttpMethod;
  target: FunctionTarget;
  /** header lines as Node's rawHeaders: name, value, name, value... */
  headers: readonly string[];
  body: Uint8Array;
  rules: HeaderRules;
}

/** The event as JSON text, ready for the invoke path (written here, so never re-checked there). */
export function eventJson({ method, target, headers, body, rules }: EventParts): string {
  const event: HttpFunctionEvent = {
    method,
    path: target.path,
    rawQuery: target.rawQuery,
    query: parseQuery(target.rawQuery),
    headers: eventHeaders(headers, rules),
    ...eventBody(body),
  };
  return JSON.stringify(event);
}
