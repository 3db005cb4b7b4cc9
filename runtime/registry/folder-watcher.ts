// Watches the functions directory and says what it should hold: every function folder with a
// fingerprint of its files. That is the desired state the deployer reconciles (deployer.ts).
//
// chokidar, not Node's recursive fs.watch: that one watches each file by inode, so once a file was
// replaced by a rename (sed -i, git checkout, an editor saving atomically) later in-place writes to
// it went unseen, and a fixed manifest stayed `invalid` until something else forced a rescan.
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import { folderFingerprint, SHALLOW } from '../fingerprint.ts';

/** Folder name → fingerprint of its files ('' when it could not be read), for every function folder. */
export type DesiredState = Map<string, string>;

export interface FolderWatcherOptions {
  dir: string;
  /** quiet time after the last file event before `onChange`, so a copy in progress settles */
  debounceMs: number;
  /** something changed under `dir`: time to look at the desired state again */
  onChange: () => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Folders whose name starts with a dot (.git, an editor's or a deploy tool's staging) are not functions. */
const isHidden = (folder: string): boolean => folder.startsWith('.');

export class FolderWatcher {
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** Per folder, how many changes were seen below a directory the fingerprint does not walk. */
  private readonly unseen = new Map<string, number>();

  constructor(private readonly opts: FolderWatcherOptions) {}

  /** Resolves once every folder is watched: a change from then on is reported. */
  async start(): Promise<void> {
    const watcher = chokidar.watch(this.opts.dir, {
      ignoreInitial: true, // the first scan, after this, covers what is already there
      followSymlinks: false, // a link to / in a function folder must not have us watch the host
      ignored: (path: string) => isHidden(this.folderOf(path)),
    });
    this.watcher = watcher;
    watcher.on('all', (_event, path: string) => this.changed(path));
    watcher.on('error', (err: unknown) =>
      this.opts.log?.('functions directory watch failed', { err: (err as Error).message }),
    );
    await once(watcher, 'ready');
  }

  /** The folders the directory holds now, each with its fingerprint. */
  async desired(): Promise<DesiredState> {
    const dirents = await readdir(this.opts.dir, { withFileTypes: true }).catch(() => []);
    const folders = dirents.filter((d) => d.isDirectory() && !isHidden(d.name)).map((d) => d.name);
    for (const gone of [...this.unseen.keys()].filter((f) => !folders.includes(f)))
      this.unseen.delete(gone);
    const state: DesiredState = new Map();
    for (const folder of folders.sort()) {
      const fingerprint = await folderFingerprint(join(this.opts.dir, folder)).catch(() => '');
      // Changes the fingerprint does not walk into still make it differ.
      const unseen = this.unseen.get(folder);
      state.set(folder, unseen ? `${fingerprint}+${unseen}` : fingerprint);
    }
    return state;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.watcher?.close();
  }

  private changed(path: string): void {
    if (this.closed) return;
    const [folder, ...inside] = this.rel(path).split(sep);
    // node_modules/<pkg>/index.js written in place changes nothing the fingerprint looks at.
    if (folder && inside.slice(0, -1).some((part) => SHALLOW.has(part)))
      this.unseen.set(folder, (this.unseen.get(folder) ?? 0) + 1);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.opts.onChange(), this.opts.debounceMs);
  }

  private rel(path: string): string {
    return relative(this.opts.dir, path);
  }

  /** The function folder a path is in ('' for the functions directory itself). */
  private folderOf(path: string): string {
    return this.rel(path).split(sep)[0] ?? '';
  }
}
