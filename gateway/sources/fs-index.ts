// What a file source has already published, per file (relative path → size and mtime), kept on disk so
// files that appear or change while the gateway is down are found on the next start.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export interface FileState {
  size: number;
  mtimeMs: number;
}

export const sameState = (a: FileState | undefined, b: FileState): boolean =>
  a !== undefined && a.size === b.size && a.mtimeMs === b.mtimeMs;

interface IndexFile {
  version: 1;
  root: string;
  topic: string;
  files: Record<string, FileState>;
}

export class SourceIndex {
  private dirty = false;
  private writing?: Promise<void>;

  private constructor(
    readonly file: string,
    private readonly head: Omit<IndexFile, 'files'>,
    readonly files: Map<string, FileState>,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** A missing file is an empty index; an unreadable one too (every file is then published again), with a warning. */
  static async load(
    file: string,
    root: string,
    topic: string,
    log: SourceIndex['log'],
  ): Promise<SourceIndex> {
    const files = new Map<string, FileState>();
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as IndexFile;
      for (const [rel, s] of Object.entries(parsed.files ?? {})) {
        if (typeof s?.size === 'number' && typeof s?.mtimeMs === 'number')
          files.set(rel, { size: s.size, mtimeMs: s.mtimeMs });
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'ENOENT')
        log(
          'file source index unreadable; starting from an empty one (existing files will be published again)',
          { file, err: e.message },
        );
    }
    return new SourceIndex(file, { version: 1, root, topic }, files, log);
  }

  set(rel: string, s: FileState): void {
    this.files.set(rel, s);
    this.save();
  }

  delete(rel: string): void {
    if (this.files.delete(rel)) this.save();
  }

  /**
   * Write in the background; calls while a write runs coalesce into one more write. Temp file, fsync,
   * rename: a crash leaves the old index or the new one, never half of one.
   */
  save(): Promise<void> {
    this.dirty = true;
    this.writing ??= (async () => {
      try {
        while (this.dirty) {
          this.dirty = false;
          await this.write();
        }
      } catch (err) {
        // Kept dirty for the next save; until then a restart may publish a few events again.
        this.dirty = true;
        this.log('file source index not saved', {
          file: this.file,
          entries: this.files.size,
          err: (err as Error).message,
        });
      } finally {
        this.writing = undefined;
      }
    })();
    return this.writing;
  }

  /** Wait for pending writes (on close). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.dirty) await this.save();
  }

  private async write(): Promise<void> {
    const body: IndexFile = { ...this.head, files: Object.fromEntries(this.files) };
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(body));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file).catch(async (err) => {
      await rm(tmp, { force: true });
      throw err;
    });
  }
}
