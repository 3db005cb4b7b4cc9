// file_watcher's failures, each with a stable code (in the message and as `code`), so a caller and
// the dead-letter queue can tell a bad file from a bad request.

export type FileErrorCode = 'invalid_input' | 'not_found' | 'not_readable' | 'too_large' | 'unsupported_type' | 'encrypted' | 'corrupt';

export class FileError extends Error {
  override readonly name = 'FileError';
  constructor(readonly code: FileErrorCode, message: string) {
    super(`${code}: ${message}`);
  }
}
