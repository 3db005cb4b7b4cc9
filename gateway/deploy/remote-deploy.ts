// Remote deploy: an uploaded folder goes through the same drop-in path as one copied by hand. It is
// unpacked (unpack.ts) into a dot-folder of the functions directory, which the folder watcher
// ignores, and its manifest validated, name included, before anything is replaced; then it is
// renamed into place (same filesystem, so each rename is atomic) and the registry rescans. The answer
// says what the registry made of it: deployed, a failed update (the old version still serving), or
// invalid. Removing renames the folder out (the watcher sees it gone at once), then deletes it.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { RuntimeConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';
import type { FunctionInfo } from '../../runtime/function-info.ts';
import { loadFunctionFolder } from '../../runtime/manifest.ts';
import type { Registry } from '../../runtime/registry.ts';
import { validateName } from '../invoke.ts';
import { DEFAULT_LIMITS, unpack, type UnpackLimits } from './unpack.ts';

export interface DeployOutcome {
  name: string;
  /** the uploaded version is the one serving */
  deployed: boolean;
  function: FunctionInfo;
  files: number;
}

export interface RemoteDeployOptions {
  config: RuntimeConfig;
  registry: Pick<Registry, 'rescan' | 'settled' | 'info' | 'folderOf'>;
  limits?: UnpackLimits;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Dot-folders: the folder watcher ignores them, and they are on the functions directory's filesystem. */
const STAGING = '.titan-upload-';
const TRASH = '.titan-removed-';

export class RemoteDeploy {
  /** one upload or removal at a time: two at once could swap each other's folders */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: RemoteDeployOptions) {}

  get limits(): UnpackLimits {
    return this.opts.limits ?? DEFAULT_LIMITS;
  }

  deploy(name: string, archive: Buffer): Promise<DeployOutcome> {
    validateName(name);
    return this.serial(() => this.deployNow(name, archive));
  }

  remove(name: string): Promise<{ name: string; removed: true }> {
    validateName(name);
    return this.serial(() => this.removeNow(name));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private async deployNow(name: string, archive: Buffer): Promise<DeployOutcome> {
    const dir = this.opts.config.functionsDir;
    const staging = path.join(dir, `${STAGING}${randomBytes(6).toString('hex')}`);
    // The function's own folder: where it lives now (a folder may hold a name other than its own), or its name.
    const folder = this.opts.registry.folderOf(name) ?? name;
    // Unpacked under the folder's name: a manifest without `name:` takes it from there.
    const unpacked = path.join(staging, folder);
    try {
      await mkdir(unpacked, { recursive: true, mode: 0o755 });
      const { files } = await unpack(archive, unpacked, this.limits);
      const spec = await loadFunctionFolder(unpacked, this.opts.config); // throws invalid_manifest
      if (spec.name !== name) {
        throw new TitanError(
          'invalid_request',
          `the uploaded manifest names the function '${spec.name}', not '${name}': deploy it as ${spec.name}`,
        );
      }
      await this.swapIn(unpacked, path.join(dir, folder), staging);
      this.opts.log?.('function uploaded', { fn: name, folder, files, bytes: archive.length });
      await this.opts.registry.rescan();
      await this.opts.registry.settled();
      const info = this.opts.registry.info(name);
      if (!info)
        throw new TitanError('internal_error', `function '${name}' was written but is not listed`);
      return {
        name,
        deployed: info.status === 'ready' && !info.update_failed,
        function: info,
        files,
      };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** The old folder moves aside into the staging dot-folder (removed after), the new one into place. */
  private async swapIn(from: string, to: string, staging: string): Promise<void> {
    await rename(to, path.join(staging, 'previous')).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await rename(from, to);
  }

  private async removeNow(name: string): Promise<{ name: string; removed: true }> {
    const folder = this.opts.registry.folderOf(name);
    if (!folder) throw new TitanError('not_found', `no function named '${name}'`);
    const dir = this.opts.config.functionsDir;
    const trash = path.join(dir, `${TRASH}${randomBytes(6).toString('hex')}`);
    await rename(path.join(dir, folder), trash);
    try {
      await this.opts.registry.rescan();
      await this.opts.registry.settled();
    } finally {
      await rm(trash, { recursive: true, force: true });
    }
    this.opts.log?.('function removed', { fn: name, folder });
    return { name, removed: true };
  }
}
