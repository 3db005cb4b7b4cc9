// A directory as an event source: publishes `file_created` / `file_changed` once a file's writes have
// settled, and on start catches up with what changed while the gateway was down (see fs-index.ts).
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Stats } from 'node:fs';
import { lstat, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import { DEFAULT_SOURCE_IGNORE, type SourceConfig } from '../../runtime/config.ts';
import { sameState, SourceIndex, type FileState } from './fs-index.ts';
import { ignoreMatcher, settled, walk } from './fs-scan.ts';
import { PublishQueue, type PublishFn, type QueuedEvent } from './publish-queue.ts';

export type SourceState =
  | 'created'
  | 'prepared'
  | 'off'
  | 'starting'
  | 'watching'
  | 'retrying'
  | 'failed'
  | 'closed';

export interface SourceStatus {
  type: 'fs';
  path: string;
  topic: string;
  state: SourceState;
  /** events waiting to be published */
  pending: number;
  error?: string;
}

export interface FsSourceOptions {
  /** one `sources:` entry, its path already absolute */
  config: SourceConfig;
  /** the index lives in `<stateDir>/sources/` */
  stateDir: string;
  publish: PublishFn;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** queue bound and retry backoff (tests shorten them); see PublishQueueOptions */
  queue?: { max?: number; retryBaseMs?: number; retryMaxMs?: number };
}

type Meta = { rel: string; state: FileState };

export class FsSource {
  /** the watched directory, symlinks resolved: permissions.fs mounts real paths, so event paths must be real too */
  root: string;
  private index?: SourceIndex;
  private watcher?: FSWatcher;
  private readonly queue: PublishQueue<Meta>;
  /** per file, the state last queued or published: what the next observation is compared with */
  private readonly known = new Map<string, FileState>();
  private readonly ignored: (rel: string) => boolean;
  private state: SourceState = 'created';
  private reason?: string;
  private overflowed = false;
  private scanning?: Promise<void>;
  private closing?: Promise<void>;
  private readonly stop = new AbortController();

  constructor(private readonly opts: FsSourceOptions) {
    this.root = opts.config.path;
    this.ignored = ignoreMatcher([...DEFAULT_SOURCE_IGNORE, ...opts.config.ignore]);
    this.queue = new PublishQueue<Meta>({
      publish: opts.publish,
      log: opts.log,
      ...opts.queue,
      onPublished: (e) => this.published(e),
      onDrained: () => {
        // Events refused while the queue was full left `known` untouched; a scan finds them again.
        if (this.overflowed && !this.stop.signal.aborted) {
          this.overflowed = false;
          this.scanning ??= this.scan()
            .catch((err) =>
              this.opts.log('file source rescan failed', {
                root: this.root,
                err: (err as Error).message,
              }),
            )
            .finally(() => (this.scanning = undefined));
        }
      },
    });
  }

  get indexFile(): string {
    const id = createHash('sha256')
      .update(`${this.root}\0${this.opts.config.topic}`)
      .digest('hex')
      .slice(0, 16);
    return path.join(this.opts.stateDir, 'sources', `${id}.json`);
  }

  /**
   * Create the directory (mkdir -p) as the gateway's user. Call before functions deploy: the engine
   * would create a missing bind-mount source itself, owned by root.
   */
  async prepare(): Promise<void> {
    if (this.state !== 'created') return;
    try {
      await mkdir(this.opts.config.path, { recursive: true });
      this.root = await realpath(this.opts.config.path);
      if (!this.stop.signal.aborted) this.state = 'prepared'; // close() ran meanwhile: it stays closed
    } catch (err) {
      // Not fatal: like the event system, a source that cannot run says why (log, /healthz) and HTTP
      // invocation carries on (e.g. a read-only working directory in a container image).
      this.state = 'failed';
      this.reason = `cannot create the watched directory ${this.opts.config.path}: ${(err as Error).message}`;
      this.opts.log('file source off', { root: this.opts.config.path, err: this.reason });
    }
  }

  /** Not started, with the reason shown in status (the event system is off). */
  disable(reason: string): void {
    if (this.state !== 'prepared') return;
    this.state = 'off';
    this.reason = reason;
  }

  /** Watch, then publish what changed since the last run. Resolves once that catch-up is queued. */
  async start(): Promise<void> {
    await this.prepare();
    if (this.state !== 'prepared' || this.stop.signal.aborted) return;
    this.state = 'starting';
    const { topic, recursive, debounceMs } = this.opts.config;
    this.index = await SourceIndex.load(this.indexFile, this.root, topic, this.opts.log);
    // close() may have run during the load; from here to the watcher's creation nothing awaits, so a
    // later close() always finds the watcher to close.
    if (this.stop.signal.aborted) return;
    for (const [rel, s] of this.index.files) this.known.set(rel, s);
    const watcher = chokidar.watch(this.root, {
      ignoreInitial: true, // the scan below covers what is already there, against the index
      followSymlinks: false,
      depth: recursive ? undefined : 0,
      alwaysStat: true,
      awaitWriteFinish: debounceMs > 0 && {
        stabilityThreshold: debounceMs,
        pollInterval: Math.max(10, Math.min(100, debounceMs >> 1)),
      },
      ignored: (p: string) => this.ignored(this.rel(p)),
    });
    this.watcher = watcher;
    watcher.on('add', (p: string, st?: Stats) => void this.observe(p, st));
    watcher.on('change', (p: string, st?: Stats) => void this.observe(p, st));
    watcher.on('unlink', (p: string) => this.forget(this.rel(p), false));
    watcher.on('unlinkDir', (p: string) => this.forget(this.rel(p), true));
    watcher.on('error', (err: unknown) =>
      this.opts.log('file source watch error', { root: this.root, err: (err as Error).message }),
    );
    // The watcher first, then the scan: a file written in between is seen by one or both (deduplicated in consider()).
    try {
      await once(watcher, 'ready', { signal: this.stop.signal });
      this.scanning = this.scan().finally(() => {
        this.scanning = undefined;
      });
      await this.scanning;
    } catch (err) {
      if (this.stop.signal.aborted) return; // closed while starting
      throw err;
    }
    this.state = 'watching';
  }

  status(): SourceStatus {
    const q = this.queue.state;
    const state =
      this.state === 'watching' && (q === 'retrying' || q === 'failed') ? q : this.state;
    const error = this.reason ?? this.queue.error;
    return {
      type: 'fs',
      path: this.root,
      topic: this.opts.config.topic,
      state,
      pending: this.queue.pending,
      ...(error ? { error } : {}),
    };
  }

  /** Posix path relative to the root ('' for the root itself). */
  private rel(abs: string): string {
    return path.relative(this.root, abs).split(path.sep).join('/');
  }

  private async observe(abs: string, st?: Stats): Promise<void> {
    const rel = this.rel(abs);
    if (this.stop.signal.aborted || rel === '' || this.ignored(rel)) return;
    st ??= await lstat(abs).catch(() => undefined);
    if (st?.isFile()) this.consider(rel, { size: st.size, mtimeMs: st.mtimeMs });
  }

  /** Queue an event unless this exact state was already queued or published. */
  private consider(rel: string, s: FileState): void {
    const prev = this.known.get(rel);
    if (sameState(prev, s)) return;
    const { topic } = this.opts.config;
    const abs = path.join(this.root, ...rel.split('/'));
    const data = {
      path: abs,
      relative: rel,
      root: this.root,
      size: s.size,
      mtime: new Date(s.mtimeMs).toISOString(),
    };
    const e: QueuedEvent<Meta> = {
      topic,
      type: prev ? 'file_changed' : 'file_created',
      dataJson: JSON.stringify(data),
      source: `fs:${this.root}`,
      meta: { rel, state: s },
    };
    if (!this.queue.push(e)) {
      if (!this.overflowed && !this.stop.signal.aborted)
        this.opts.log('file source queue full; will rescan once it drains', {
          root: this.root,
          topic,
          pending: this.queue.pending,
        });
      this.overflowed = true;
      return;
    }
    this.known.set(rel, s);
  }

  /** The index only ever holds what was published. A file deleted while its event was in flight stays out. */
  private published(e: QueuedEvent<Meta>): void {
    if (this.known.has(e.meta.rel)) this.index?.set(e.meta.rel, e.meta.state);
  }

  /** A deleted file or directory: no event; forget it, including events still queued for it. */
  private forget(rel: string, dir: boolean): void {
    const match = (r: string) => r === rel || (dir && (rel === '' || r.startsWith(`${rel}/`)));
    for (const r of [...this.known.keys()]) if (match(r)) this.known.delete(r);
    for (const r of [...(this.index?.files.keys() ?? [])]) if (match(r)) this.index!.delete(r);
    this.queue.drop((e) => match(e.meta.rel));
  }

  /** Compare the tree with what is known: new and changed files are queued, vanished ones forgotten. */
  private async scan(): Promise<void> {
    const { recursive, debounceMs } = this.opts.config;
    const found = new Set<string>();
    for await (const rel of walk(this.root, recursive, this.ignored)) {
      if (this.stop.signal.aborted) return;
      found.add(rel);
      const st = await lstat(path.join(this.root, rel)).catch(() => undefined);
      if (!st?.isFile()) continue;
      // A file modified within the debounce window may still be being written: wait for it to settle.
      const consider = (s?: Stats) => s && this.consider(rel, { size: s.size, mtimeMs: s.mtimeMs });
      if (Math.abs(Date.now() - st.mtimeMs) < debounceMs)
        void settled(path.join(this.root, rel), st, debounceMs, this.stop.signal).then(consider);
      else consider(st);
    }
    for (const rel of [...this.known.keys()]) {
      if (found.has(rel)) continue;
      // Known but not found: gone, unless it appeared after the walk passed its directory.
      const st = await lstat(path.join(this.root, rel)).catch(() => undefined);
      if (!st) this.forget(rel, false);
    }
  }

  /** Stop watching, let the publish in flight finish, save the index. Runs every step; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop.abort();
      const steps: Array<[string, () => Promise<void> | undefined]> = [
        ['watcher', () => this.watcher?.close()],
        ['queue', () => this.queue.close()],
        ['scan', () => this.scanning],
        ['index', () => this.index?.flush()],
      ];
      for (const [what, step] of steps) {
        await Promise.resolve()
          .then(step)
          .catch((err) =>
            this.opts.log(`file source close: ${what} failed`, {
              root: this.root,
              err: (err as Error).message,
            }),
          );
      }
      this.state = 'closed';
    })();
    return this.closing;
  }
}
