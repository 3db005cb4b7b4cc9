// The set of deployed functions, kept in step with the functions directory: a dropped-in folder is
// deployed and prewarmed, a changed one redeployed (new containers warm before old ones drain), a
// removed one undeployed. Broken folders are listed as invalid and disturb nothing else.
//
// Folder dropped → deployed: registry/folder-watcher.ts sees the change and, after a quiet moment,
// calls rescan(); the watcher's desired() lists each folder with a fingerprint of its files; and
// registry/deployer.ts reconciles the deployed functions with that, one folder at a time (its
// deploy() is the state machine). This file wires those together and answers the gateway.
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeConfig } from './config.ts';
import { Deployment } from './deployment.ts';
import type { ContainerEngine } from './engine/engine.ts';
import type { FunctionInfo } from './function-info.ts';
import type { LogStore } from './logs.ts';
import type { PoolUpdate } from './pool-overrides.ts';
import type { PoolEvent } from './pool.ts';
import { Deployer } from './registry/deployer.ts';
import { refuseIsolation } from './engine/runtimes.ts';
import { FolderWatcher } from './registry/folder-watcher.ts';
import { describe } from './registry/function-view.ts';
import { removeOrphans, runDirOf } from './registry/orphans.ts';
import { PoolKnobs } from './registry/pool-knobs.ts';
import { installBootstrap, sandboxLimits, type SandboxLimits } from './sandbox.ts';
import type { FunctionSpec, TriggerSpec } from './spec.ts';
import type { StemEvent } from './stem-cells/cold-start-route.ts';
import { cellsDirOf } from './stem-cells/stem-cell.ts';
import { StemCells } from './stem-cells/stem-cells.ts';

export type { FunctionInfo };

export interface RegistryOptions {
  config: RuntimeConfig;
  engine: ContainerEngine;
  /** label value shared by every container of this gateway's state directory */
  scope: string;
  /** the pools' events, and the stem cells' (fn '' for the stem pools' own) */
  onPoolEvent?: (fn: string, e: PoolEvent | StemEvent) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** what deserves a warning: an update that failed while the previous version keeps serving */
  warn?: (msg: string, fields?: Record<string, unknown>) => void;
  /** quiet time after a file event before rescanning, so a copy in progress settles */
  debounceMs?: number;
  /** captures every container's output, per function and invocation */
  logs?: LogStore;
}

export class Registry extends EventEmitter {
  /** generic containers specialized on cold starts (sandbox.stem_cells) */
  readonly stemCells: StemCells;
  private readonly watcher: FolderWatcher;
  private readonly deployer: Deployer;
  private readonly knobs: PoolKnobs;
  private readonly limits: SandboxLimits;
  private scanning?: Promise<void>;
  private rescanAgain = false;

  constructor(private readonly opts: RegistryOptions) {
    super();
    const { config, log } = opts;
    this.limits = sandboxLimits(config);
    this.knobs = new PoolKnobs(join(config.stateDir, 'pool-overrides.json'), log);
    this.watcher = new FolderWatcher({
      dir: config.functionsDir,
      debounceMs: opts.debounceMs ?? 150,
      onChange: () =>
        void this.rescan().catch((err) => log?.('rescan failed', { err: String(err) })),
      log,
    });
    this.stemCells = new StemCells({
      config,
      engine: opts.engine,
      limits: this.limits,
      scope: opts.scope,
      runDir: runDirOf(config.stateDir),
      cellsDir: cellsDirOf(config.stateDir),
      startupTimeoutMs: config.sandbox.startupTimeoutSec * 1000,
      onChange: (runtime, { ready, starting }) =>
        opts.onPoolEvent?.('', { kind: 'stem_cells', runtime, ready, starting }),
      log,
    });
    this.deployer = new Deployer({
      config,
      create: (spec) => this.createDeployment(spec),
      refuse: (spec) => refuseIsolation(opts.engine, spec.isolation),
      onPromoted: () => this.emit('change'),
      log,
      warn: opts.warn,
    });
  }

  /** Remove what an earlier gateway on this state directory left behind, watch, then deploy. */
  async start(): Promise<void> {
    await this.removeOrphans();
    await installBootstrap(this.opts.config.stateDir);
    this.stemCells.start(); // in the background: a cold start finding none ready starts a container
    await this.knobs.load();
    await mkdir(this.opts.config.functionsDir, { recursive: true });
    // Watching before the first scan: a change made while it runs is seen by the next one.
    await this.watcher.start();
    await this.rescan();
  }

  async removeOrphans(): Promise<number> {
    const count = await removeOrphans(this.opts.engine, this.opts.scope, this.opts.config.stateDir);
    if (count) this.opts.log?.('removed orphan containers of an earlier run', { count });
    return count;
  }

  get(name: string): Deployment | undefined {
    return this.deployer.byName(name)?.active;
  }

  /** Why a name cannot be invoked, when it is listed but has no active deployment. */
  invalidReason(name: string): string | undefined {
    return this.deployer.byName(name)?.invalid;
  }

  /** The folder of the functions directory that holds `name` (remote deploy replaces or removes it). */
  folderOf(name: string): string | undefined {
    return this.deployer.byName(name)?.folder;
  }

  has(name: string): boolean {
    return this.deployer.byName(name) !== undefined;
  }

  list(): FunctionInfo[] {
    return this.deployer
      .all()
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(describe);
  }

  info(name: string): FunctionInfo | undefined {
    const e = this.deployer.byName(name);
    return e && describe(e);
  }

  /** Every trigger of every valid function, for the event trigger component. */
  triggers(): Array<{ fn: string } & TriggerSpec> {
    return this.deployer
      .all()
      .flatMap((e) => (e.active ? e.active.spec.triggers.map((t) => ({ fn: e.name, ...t })) : []));
  }

  /** Resolves once every deploy started so far has warmed up or failed. */
  async settled(): Promise<void> {
    await this.scanning;
    await this.deployer.settled();
  }

  /** One scan at a time; a request during a scan runs one more after it. The one reload path. */
  rescan(): Promise<void> {
    if (this.scanning) {
      this.rescanAgain = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      try {
        do {
          this.rescanAgain = false;
          await this.deployer.reconcile(await this.watcher.desired());
          this.emit('change');
        } while (this.rescanAgain);
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  /** Change pool knobs live; kept (in the state directory) until the manifest changes or a reset. */
  async setPool(name: string, update: PoolUpdate): Promise<FunctionInfo> {
    const entry = this.deployer.byName(name);
    await this.knobs.set(name, entry, update); // throws unless it is deployed
    return describe(entry!);
  }

  /** Back to the manifest's pool settings. */
  async resetPool(name: string): Promise<FunctionInfo> {
    const entry = this.deployer.byName(name);
    await this.knobs.reset(name, entry);
    return describe(entry!);
  }

  /** Stop watching and drain every function; containers are removed. */
  async close(): Promise<void> {
    await this.watcher.close();
    await this.scanning?.catch(() => {});
    await this.deployer.close();
    // After the deployments: a cell being specialized belongs to a pool, which waited for it.
    await this.stemCells.close();
  }

  private createDeployment(spec: FunctionSpec): Deployment {
    const { config } = this.opts;
    return new Deployment(spec, {
      spec,
      poolSettings: this.knobs.settingsFor(spec),
      engine: this.opts.engine,
      limits: this.limits,
      scope: this.opts.scope,
      runDir: runDirOf(config.stateDir),
      startupTimeoutMs: config.sandbox.startupTimeoutSec * 1000,
      queueMax: config.pool.queueMax,
      queueTimeoutMs: config.pool.queueTimeoutSec * 1000,
      onPoolEvent: this.opts.onPoolEvent,
      logs: this.opts.logs,
      stemCells: this.stemCells,
    });
  }
}
