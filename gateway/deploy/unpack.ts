// Unpacks an uploaded function folder (tar, or tar.gz) into an empty directory, refusing whatever a
// hostile archive could use against the host: a path that escapes (`..`, absolute), links (symbolic
// or hard), devices, FIFOs, setuid/setgid bits, and sizes past the limits (a gzip bomb stops at the
// uncompressed limit, not after filling the disk). The first problem refuses the whole archive.
import { mkdir, open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { TitanError } from '../../runtime/errors.ts';

export interface UnpackLimits {
  /** the uploaded archive, as sent (compressed or not) */
  maxArchiveBytes: number;
  /** the files' sizes added up, and the tar stream once gunzipped */
  maxTotalBytes: number;
  maxFiles: number;
}

export const DEFAULT_LIMITS: UnpackLimits = {
  maxArchiveBytes: 20 * 1024 * 1024,
  maxTotalBytes: 100 * 1024 * 1024,
  maxFiles: 10_000,
};

// tar-stream (tar-fs's parser; dockerode's packer) ships no types: the little used here.
interface TarHeader {
  name: string;
  type: string;
  mode?: number;
  size?: number;
}
interface TarExtract extends NodeJS.WritableStream {
  on(
    event: 'entry',
    fn: (header: TarHeader, stream: Readable, next: (err?: Error) => void) => void,
  ): this;
  on(event: 'finish' | 'error', fn: (err?: Error) => void): this;
  destroy(err?: Error): void;
}
const tarStream = createRequire(import.meta.url)('tar-stream') as { extract(): TarExtract };

const refused = (why: string) => new TitanError('invalid_request', `archive refused: ${why}`);
const tooLarge = (why: string) => new TitanError('payload_too_large', `archive refused: ${why}`);

/** A relative path inside the folder, normalized; throws for one that is absolute or escapes. */
export function entryPath(name: string): string | undefined {
  if (name.includes('\0') || name.includes('\\'))
    throw refused(`entry name ${JSON.stringify(name)} has a NUL or a backslash`);
  if (name.startsWith('/')) throw refused(`entry ${JSON.stringify(name)} is an absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refused(`entry ${JSON.stringify(name)} escapes the folder (..)`);
  return parts.length ? parts.join('/') : undefined; // `./` itself
}

const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Unpacks `archive` into `dir` (which must exist and be empty); returns how many files it wrote. */
export async function unpack(
  archive: Buffer,
  dir: string,
  limits: UnpackLimits = DEFAULT_LIMITS,
): Promise<{ files: number; bytes: number }> {
  if (archive.length > limits.maxArchiveBytes)
    throw tooLarge(`${archive.length} bytes is over the limit of ${limits.maxArchiveBytes}`);
  let tar: Buffer;
  try {
    tar = isGzip(archive)
      ? gunzipSync(archive, { maxOutputLength: limits.maxTotalBytes + 64 * 1024 })
      : archive;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw tooLarge(`it unpacks to more than ${limits.maxTotalBytes} bytes`);
    throw refused(`not a valid gzip stream (${(err as Error).message})`);
  }
  let files = 0;
  let bytes = 0;
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', () => resolve());
    extract.on('error', (err) =>
      reject(
        err instanceof TitanError ? err : refused(`not a valid tar archive (${err?.message})`),
      ),
    );
  });
  extract.on('entry', (header, stream, next) => {
    entry(header, stream).then(
      () => next(),
      (err: Error) => {
        stream.resume();
        extract.destroy(err);
      },
    );
  });

  const entry = async (h: TarHeader, stream: Readable): Promise<void> => {
    if (h.type === 'pax-global-header') return void stream.resume(); // git archive's comment: nothing to write
    const rel = entryPath(h.name);
    const mode = h.mode ?? 0o644;
    if (mode & 0o6000)
      throw refused(`entry ${JSON.stringify(h.name)} has the setuid or setgid bit`);
    if (h.type === 'directory') {
      stream.resume();
      if (rel) await mkdir(path.join(dir, rel), { recursive: true, mode: 0o755 });
      return;
    }
    if (h.type !== 'file')
      throw refused(
        `entry ${JSON.stringify(h.name)} is a ${h.type}: only regular files and directories are taken`,
      );
    if (!rel) throw refused('a file entry with no name');
    if (++files > limits.maxFiles) throw tooLarge(`more than ${limits.maxFiles} files`);
    bytes += h.size ?? 0;
    if (bytes > limits.maxTotalBytes)
      throw tooLarge(`its files add up to more than ${limits.maxTotalBytes} bytes`);
    const target = path.join(dir, rel);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    // 'wx': never over an existing entry (a second entry of the same name) and never through a link.
    const fh = await open(target, 'wx', mode & 0o111 ? 0o755 : 0o644).catch(
      (err: NodeJS.ErrnoException) => {
        throw err.code === 'EEXIST'
          ? refused(`entry ${JSON.stringify(h.name)} appears twice`)
          : err;
      },
    );
    try {
      for await (const chunk of stream) await fh.write(chunk as Buffer);
    } finally {
      await fh.close();
    }
  };

  Readable.from([tar]).pipe(extract);
  await done;
  if (files === 0) throw refused('it holds no files');
  return { files, bytes };
}
