// The one place that maps error codes to HTTP: every route throws, onError answers. The invoke fast
// path and `/function/<name>` answer from `errorAnswer` too, so status, body and headers agree.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  MethodNotAllowedError,
  TitanError,
  type ErrorCode,
  OverloadedError,
} from '../runtime/errors.ts';

export const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  not_found: 404,
  invalid_json: 400,
  invalid_request: 400,
  invalid_name: 400,
  payload_too_large: 413,
  function_invalid: 409,
  function_error: 500,
  function_rejected: 400,
  timeout: 504,
  overloaded: 429,
  out_of_memory: 502,
  sandbox_error: 502,
  engine_unavailable: 503,
  invalid_manifest: 400,
  invalid_config: 500,
  internal_error: 500,
  events_unavailable: 503,
  unauthorized: 401,
  invalid_topic: 400,
  forbidden_origin: 403,
  forbidden_host: 403,
  /** a function answered something the gateway will not pass on (too large, malformed) */
  invalid_response: 502,
  /** `/function/<name>` with a method its manifest's `http.methods` leaves out; `Allow` lists them */
  method_not_allowed: 405,
};

export function toTitanError(err: unknown): TitanError {
  if (err instanceof TitanError) return err;
  return new TitanError('internal_error', 'internal error in the gateway');
}

/** An error as an HTTP answer: its status, its JSON body `{ error }` and the headers its code calls for. */
export interface ErrorAnswer {
  status: ContentfulStatusCode;
  headers: Record<string, string>;
  body: string;
}

export function errorAnswer(err: unknown): ErrorAnswer {
  const e = toTitanError(err);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (e instanceof OverloadedError) headers['retry-after'] = String(e.retryAfterSec);
  if (e.code === 'unauthorized') headers['www-authenticate'] = 'Bearer realm="titan"';
  if (e instanceof MethodNotAllowedError) headers.allow = e.allow.join(', ');
  return { status: STATUS[e.code], headers, body: JSON.stringify({ error: e.toJSON() }) };
}

export function errorResponse(c: Context, err: unknown): Response {
  const { status, headers, body } = errorAnswer(err);
  return c.body(body, status, headers);
}
