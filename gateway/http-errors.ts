// The one place that maps error codes to HTTP: every route throws, onError answers.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { TitanError, type ErrorCode, OverloadedError } from '../runtime/errors.ts';

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
};

export function toTitanError(err: unknown): TitanError {
  if (err instanceof TitanError) return err;
  return new TitanError('internal_error', 'internal error in the gateway');
}

export function errorResponse(c: Context, err: unknown): Response {
  const e = toTitanError(err);
  if (e instanceof OverloadedError) c.header('Retry-After', String(e.retryAfterSec));
  if (e.code === 'unauthorized') c.header('WWW-Authenticate', 'Bearer realm="titan"');
  return c.json({ error: e.toJSON() }, STATUS[e.code]);
}
