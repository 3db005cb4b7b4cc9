// Errors with stable codes. The same codes appear in HTTP bodies, result streams and metrics;
// gateway/http-errors.ts is the one place that maps them to HTTP statuses.

export type ErrorCode =
  | 'not_found'
  | 'invalid_json'
  | 'invalid_request'
  | 'invalid_name'
  | 'payload_too_large'
  | 'function_invalid'
  | 'function_error'
  | 'function_rejected'
  | 'timeout'
  | 'overloaded'
  | 'out_of_memory'
  | 'sandbox_error'
  | 'engine_unavailable'
  | 'invalid_manifest'
  | 'invalid_config'
  | 'internal_error'
  | 'events_unavailable'
  | 'unauthorized'
  | 'invalid_topic'
  | 'forbidden_origin'
  | 'forbidden_host'
  | 'invalid_response'
  | 'method_not_allowed';

export class TitanError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'TitanError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export const isTitanError = (e: unknown): e is TitanError => e instanceof TitanError;

/** A handler threw or rejected; `message` is the thrown error's message. */
export class FunctionError extends TitanError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('function_error', message, details);
  }
}

/**
 * A handler refused its input: it threw an error whose `status` is 400-499 (see the bootstraps).
 * The caller's fault, not the function's: answered 400, and an event is not retried.
 */
export class FunctionRejectedError extends TitanError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('function_rejected', message, details);
  }
}

export class TimeoutError extends TitanError {
  constructor(fn: string, timeoutMs: number) {
    super('timeout', `function '${fn}' did not finish within ${timeoutMs} ms`, {
      timeout_ms: timeoutMs,
    });
  }
}

export class OverloadedError extends TitanError {
  readonly retryAfterSec: number;
  constructor(message: string, retryAfterSec = 1) {
    super('overloaded', message, { retry_after_sec: retryAfterSec });
    this.retryAfterSec = retryAfterSec;
  }
}

export class OutOfMemoryError extends TitanError {
  constructor(fn: string, limitBytes: number) {
    super(
      'out_of_memory',
      `function '${fn}' exceeded its memory limit of ${limitBytes} bytes and was killed`,
      {
        memory_limit_bytes: limitBytes,
      },
    );
  }
}

export class SandboxError extends TitanError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('sandbox_error', message, details);
  }
}

/** `/function/<name>` with a method the function's manifest (`http.methods`) does not list. */
export class MethodNotAllowedError extends TitanError {
  /** what the function takes: the answer's `Allow` header */
  readonly allow: readonly string[];
  constructor(fn: string, method: string, allow: readonly string[]) {
    super(
      'method_not_allowed',
      `function '${fn}' does not take ${method} requests; it takes ${allow.join(', ')}`,
      { allow },
    );
    this.allow = allow;
  }
}
