// Which file an invocation names, and its bytes: only regular files inside the directories
// permissions.fs mounted (TITAN_FS_ALLOW), up to a size bound, with the reason when not.
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { FileError } from './errors.ts';

/** `{ path }` over HTTP, or a file event from the fs source (`{ type, data: { path } }`). */
export function pathOf(event: unknown): string {
  const e = (event ?? {}) as { path?: unknown; data?: { path?: unknown } };
  const p = typeof e.data === 'object' && e.data !== null ? e.data.path : e.path;
  if (typeof p !== 'string' || p === '' || p.includes('\0')) {
    throw new FileError(
      'invalid_input',
      `expected { "path": "<file>" } or a file event whose data has a path (got ${JSON.stringify(event)?.slice(0, 200)})`,
    );
  }
  return p;
}

const within = (child: string, dir: string) => {
  const rel = path.relative(dir, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/**
 * The real path of `p` inside one of `allowed`. A relative path is taken from the first allowed
 * directory (`report.pdf` → `<inbox>/report.pdf`); `..` is refused, and so is a symlink whose
 * target lies outside them (it could reach the container's own files).
 */
export async function resolveInside(p: string, allowed: readonly string[]): Promise<string> {
  if (allowed.length === 0)
    throw new FileError(
      'not_readable',
      'no directory is mounted for file_watcher: list one in permissions.fs.allow',
    );
  if (p.split(/[\\/]/).includes('..'))
    throw new FileError('invalid_input', `${p}: '..' is not allowed in a path`);
  const abs = path.resolve(allowed[0]!, p);
  const shownDirs = allowed.join(', ');
  if (!allowed.some((d) => within(abs, d)))
    throw new FileError(
      'not_readable',
      `${p}: outside the directories file_watcher may read (${shownDirs})`,
    );
  let real: string;
  try {
    real = await realpath(abs);
  } catch (err) {
    throw ioError(err, p);
  }
  if (!allowed.some((d) => within(real, d)))
    throw new FileError(
      'not_readable',
      `${p}: a link to ${real}, outside the directories file_watcher may read (${shownDirs})`,
    );
  return real;
}

/** The whole file, refusing anything that is not a regular file or is larger than `maxBytes`. */
export async function readBounded(
  file: string,
  shown: string,
  maxBytes: number,
): Promise<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw ioError(err, shown);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new FileError('not_readable', `${shown}: not a regular file`);
    if (st.size > maxBytes)
      throw new FileError(
        'too_large',
        `${shown}: ${st.size} bytes, above the limit of ${maxBytes} (config max_bytes)`,
      );
    return new Uint8Array(await handle.readFile());
  } catch (err) {
    throw err instanceof FileError ? err : ioError(err, shown);
  } finally {
    await handle.close();
  }
}

function ioError(err: unknown, shown: string): FileError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new FileError('not_found', `${shown}: no such file`);
  if (code === 'EISDIR') return new FileError('not_readable', `${shown}: a directory, not a file`);
  return new FileError('not_readable', `${shown}: ${(err as Error).message}`);
}
