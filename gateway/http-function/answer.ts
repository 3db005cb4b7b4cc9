// What a handler behind `/function/<name>` may answer, read from the JSON its container sent. The
// container may be hostile: whatever it says either becomes a well-formed HTTP answer or is
// `502 invalid_response` naming what is wrong; no byte of it reaches the status line or a header
// unchecked, and nothing it sends can speak for the gateway (CORS, cookies on the host, framing).
import { TitanError } from '../../runtime/errors.ts';

/** An answer a handler returns to set the status, headers and body (any other value is a 200 JSON answer). */
export interface HttpFunctionAnswer {
  /** 200-599 */
  statusCode: number;
  /** a list is sent as one field, its values joined with `, ` */
  headers?: Record<string, string | string[]>;
  /** text, or base64 with isBase64Encoded; none for 204, 205 and 304 */
  body?: string | null;
  isBase64Encoded?: boolean;
}

/** An answer ready to write: lower-case header names, content-length included when there is a body. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** Most header fields, and most bytes of them, an answer may set: any client must be able to read it (Node's own limit is 16 KiB). */
export const MAX_ANSWER_HEADERS = 100;
export const MAX_ANSWER_HEADER_BYTES = 16 * 1024;

const ANSWER_KEYS = ['statusCode', 'headers', 'body', 'isBase64Encoded'];
/** RFC 9110 §5.1 field names (tokens) and §5.5 field values: no CR, LF, NUL or other control but tab. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Headers that are the gateway's to set: those about the connection and its framing (the gateway
 * computes content-length), the invocation's own, CORS (the gateway's policy decides which pages may
 * read an answer), and those that bind the whole host rather than one answer: a cookie or HSTS set
 * here would hold for every function on the gateway and, cookies ignoring ports, every server on the
 * host. `service-worker-allowed` would let a function's service worker control the whole origin
 * (the dashboard at /ui, other functions' pages) instead of its own /function/<name>/ path.
 */
const GATEWAY_OWNED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'x-invocation-id',
  'x-cold-start',
  'set-cookie',
  'strict-transport-security',
  'alt-svc',
  'clear-site-data',
  'service-worker-allowed',
]);
export const isGatewayOwned = (name: string): boolean =>
  GATEWAY_OWNED.has(name) || name.startsWith('access-control-');

/** Statuses whose answers have no body (RFC 9110 §15.3.5, §15.3.6, §15.4.5). */
const NO_BODY = new Set([204, 205, 304]);

/** A result that is not an answer: the JSON route's 200 answer, the container's JSON passed on as it is. */
export const jsonAnswer = (resultJson: string): Answer => ({
  status: 200,
  headers: {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(resultJson)),
  },
  body: resultJson,
});

const quote = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);
const typeOf = (x: unknown): string =>
  x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x;

/**
 * The HTTP answer for `resultJson`. An object with a `statusCode` key is an answer and must be a
 * valid one; anything else is a 200 JSON answer. Throws `invalid_response` saying what is wrong.
 */
export function readAnswer(resultJson: string, fn: string): Answer {
  // Most results are not answers: a key spelt `statusCode` (or escaped, \u...) must appear for one to be.
  if (
    !/^\s*\{/.test(resultJson) ||
    (!resultJson.includes('"statusCode"') && !resultJson.includes('\\u'))
  )
    return jsonAnswer(resultJson);
  const bad = (why: string) =>
    new TitanError('invalid_response', `function '${fn}' answered an invalid HTTP answer: ${why}`);
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(resultJson) as Record<string, unknown>;
  } catch (err) {
    throw bad(`its JSON does not parse (${(err as Error).message})`);
  }
  if (!Object.hasOwn(value, 'statusCode')) return jsonAnswer(resultJson);

  const unknown = Object.keys(value).filter((k) => !ANSWER_KEYS.includes(k));
  if (unknown.length > 0)
    throw bad(
      `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map(quote).join(', ')}; an answer has ${ANSWER_KEYS.join(', ')}`,
    );
  const status = value.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    throw bad(
      `statusCode must be an integer from 200 to 599 (got ${typeof status === 'string' ? quote(status) : JSON.stringify(status)})`,
    );
  }
  // A 1xx is an interim answer: the client would go on waiting for the final one, which never comes.
  if (status < 200)
    throw bad(
      `statusCode ${status} is an interim (1xx) status; an answer's status is final: 200 to 599`,
    );
  const { isBase64Encoded = false, body = null } = value;
  if (typeof isBase64Encoded !== 'boolean')
    throw bad(`isBase64Encoded must be true or false (got ${typeOf(isBase64Encoded)})`);
  if (body !== null && typeof body !== 'string')
    throw bad(
      `body must be a string (got ${typeOf(body)}; JSON.stringify an object, base64 bytes)`,
    );
  const headers = readHeaders(value.headers, bad);

  let bytes: string | Buffer = body ?? '';
  if (isBase64Encoded && bytes !== '') {
    const text = bytes as string;
    if (
      !BASE64.test(text) ||
      text.replace(/=+$/, '').length % 4 === 1 ||
      (text.includes('=') && text.length % 4 !== 0)
    ) {
      throw bad(
        'body is not base64 (isBase64Encoded is true): use the standard alphabet, A-Z a-z 0-9 + /, with = padding',
      );
    }
    bytes = Buffer.from(text, 'base64');
  }
  const length = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  if (NO_BODY.has(status)) {
    if (length > 0) throw bad(`a ${status} answer has no body (got ${length} bytes)`);
    // 204 and 304 carry no content-length at all (304's would describe the cached representation).
    if (status === 205) headers['content-length'] = '0';
    return { status, headers, body: '' };
  }
  if (length > 0 && headers['content-type'] === undefined) {
    headers['content-type'] = isBase64Encoded
      ? 'application/octet-stream'
      : 'text/plain; charset=utf-8';
  }
  headers['content-length'] = String(length);
  return { status, headers, body: bytes };
}

/** The answer's headers, checked one by one; lower-case names, lists joined. */
function readHeaders(raw: unknown, bad: (why: string) => TitanError): Record<string, string> {
  const headers: Record<string, string> = Object.create(null);
  if (raw === undefined || raw === null) return headers;
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw bad(`headers must be an object of names to values (got ${typeOf(raw)})`);
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_ANSWER_HEADERS)
    throw bad(`${entries.length} headers; at most ${MAX_ANSWER_HEADERS}`);
  let bytes = 0;
  for (const [name, value] of entries) {
    if (!TOKEN.test(name))
      throw bad(
        `header name ${quote(name)} is not a valid HTTP field name (letters, digits and !#$%&'*+-.^_\`|~)`,
      );
    const key = name.toLowerCase();
    if (isGatewayOwned(key))
      throw bad(`header ${quote(name)} is the gateway's to set, not a function's`);
    if (key in headers)
      throw bad(`header ${quote(name)} is given twice (names are case-insensitive)`);
    const values =
      typeof value === 'string'
        ? [value]
        : Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')
          ? (value as string[])
          : undefined;
    if (values === undefined)
      throw bad(
        `header ${quote(name)} must be a string or a non-empty list of strings (got ${typeOf(value)})`,
      );
    for (const v of values) {
      if (!FIELD_VALUE.test(v))
        throw bad(
          `header ${quote(name)} has a value with a character a header may not hold (CR, LF, NUL, another control, or beyond U+00FF): ${quote(v)}`,
        );
    }
    const joined = values.join(', ');
    bytes += key.length + joined.length + 4;
    if (bytes > MAX_ANSWER_HEADER_BYTES)
      throw bad(`headers take more than ${MAX_ANSWER_HEADER_BYTES} bytes`);
    headers[key] = joined;
  }
  return headers;
}
