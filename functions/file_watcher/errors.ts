// file_watcher's failures, each with a stable code (in the message and as `code`), so a caller and
// the dead-letter queue can tell a bad file from a bad request.

export type FileErrorCode =
  | 'invalid_input'
  | 'invalid_config'
  | 'not_found'
  | 'not_readable'
  | 'too_large'
  | 'unsupported_type'
  | 'encrypted'
  | 'corrupt';

/**
 * The request itself is at fault (no path, `..`), or names a file of a type file_watcher never reads
 * (decided by the extension alone, before any I/O, so no retry can change it): the runtime answers
 * 400 function_rejected, and an event goes to the DLQ after one attempt. A bad file stays a
 * function_error: retried, then dead-lettered, as a file still being written may read fine a moment later.
 */
const REJECTED = new Set<FileErrorCode>(['invalid_input', 'unsupported_type']);

export class FileError extends Error {
  override readonly name = 'FileError';
  readonly status?: number;
  constructor(
    readonly code: FileErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    if (REJECTED.has(code)) this.status = 400;
  }
}
