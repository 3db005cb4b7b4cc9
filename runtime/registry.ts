// The set of deployed functions, kept in step with the functions directory: a dropped-in folder is
// deployed and prewarmed, a changed one redeployed (new containers warm before old ones drain), a
// removed one undeployed. Broken folders are listed as invalid and disturb nothing else.
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeConfig } from './config.ts';
import { Deployment } from './deployment.ts';
import type { FunctionInfo } from './function-info.ts';

export type { FunctionInfo };
import type { ContainerEngine } from './engine/engine.ts';
import { folderFingerprint } from './fingerprint.ts';
import { buildHandler, buildRoot, removeBuild } from './build.ts';
import { loadFunctionFolder } from './manifest.ts';
import type { PoolEvent, PoolStats } from './pool.ts';
import { installBootstrap, LABEL, sandboxLimits, type SandboxLimits } from './sandbox.ts';
import { applyUpdate, PoolOverrides, type PoolUpdate } from './pool-overrides.ts';
import { TitanError } from './errors.ts';
import type { LogStore } from './logs.ts';
import type { PoolSettings, TriggerSpec } from './spec.ts';

interface Entry {
  folder: string;
  fingerprint: string;
  name: string;
  /** serving traffic */
  active?: Deployment;
  /** a redeploy warming up; becomes active once warm */
  pending?: Deployment;
  invalid?: string;
}

export interface RegistryOptions {
  config: RuntimeConfig;
  engine: ContainerEngine;
  /** label value shared by every container of this gateway's state directory */
  scope: string;
  onPoolEvent?: (fn: string, e: PoolEvent) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** quiet time after a file event before rescanning, so a copy in progress settles */
  debounceMs?: number;
  /** captures every container's output, per function and invocation */
  logs?: LogStore;
}

export class Registry extends EventEmitter {
  private readonly entries = new Map<string, Entry>(); // by folder
  private byName = new Map<string, Entry>();
  private watcher?: FSWatcher;
  private debounce?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private rescanAgain = false;
  private readonly warming = new Set<Promise<void>>();
  private readonly limits: SandboxLimits;
  private readonly runDir: string;
  private readonly overrides: PoolOverrides;

  constructor(private readonly opts: RegistryOptions) {
    super();
    this.limits = sandboxLimits(opts.config);
    this.runDir = join(opts.config.state_dir, 'run');
    this.overrides = new PoolOverrides(join(opts.config.state_dir, 'pool-overrides.json'));
  }

  private get dir(): string {
    return this.opts.config.functions_dir;
  }

  /** Remove what an earlier gateway on this state directory left behind, deploy, then watch. */
  async start(): Promise<void> {
    await this.removeOrphans();
    await installBootstrap(this.opts.config.state_dir);
    await this.overrides.load();
    await mkdir(this.dir, { recursive: true });
    await this.rescan();
    this.watcher = watch(this.dir, { recursive: true }, () => this.scheduleRescan());
    this.watcher.on('error', (err) => this.opts.log?.('functions directory watch failed', { err: err.message }));
  }

  async removeOrphans(): Promise<number> {
    const orphans = await this.opts.engine.listByLabels({ [LABEL.managed]: 'true', [LABEL.scope]: this.opts.scope });
    await Promise.all(orphans.map((c) => this.opts.engine.remove(c.id)));
    // Their socket directories and handler builds go too; one that cannot be removed is harmless leftover.
    await rm(this.runDir, { recursive: true, force: true }).catch(() => {});
    await rm(buildRoot(this.opts.config.state_dir), { recursive: true, force: true }).catch(() => {});
    if (orphans.length) this.opts.log?.('removed orphan containers of an earlier run', { count: orphans.length });
    return orphans.length;
  }

  get(name: string): Deployment | undefined {
    return this.byName.get(name)?.active;
  }

  /** Why a name cannot be invoked, when it is listed but has no active deployment. */
  invalidReason(name: string): string | undefined {
    return this.byName.get(name)?.invalid;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  list(): FunctionInfo[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name)).map((e) => describe(e));
  }

  info(name: string): FunctionInfo | undefined {
    const e = this.byName.get(name);
    return e && describe(e);
  }

  /** Every trigger of every valid function, for the event trigger component. */
  triggers(): Array<{ fn: string } & TriggerSpec> {
    return [...this.byName.values()].flatMap((e) => (e.active ? e.active.spec.triggers.map((t) => ({ fn: e.name, ...t })) : []));
  }

  /** Resolves once every deploy started so far has warmed up or failed. */
  async settled(): Promise<void> {
    await this.scanning;
    while (this.warming.size) await Promise.all(this.warming);
  }

  private scheduleRescan(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.rescan().catch((err) => this.opts.log?.('rescan failed', { err: String(err) })), this.opts.debounceMs ?? 150);
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
          await this.scanOnce();
        } while (this.rescanAgain);
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const dirents = await readdir(this.dir, { withFileTypes: true }).catch(() => []);
    const folders = new Set(dirents.filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name));
    for (const [folder, entry] of this.entries) {
      if (!folders.has(folder)) {
        this.entries.delete(folder);
        this.retireEntry(entry, 'removed');
      }
    }
    for (const folder of [...folders].sort()) {
      const fingerprint = await folderFingerprint(join(this.dir, folder)).catch(() => '');
      const prev = this.entries.get(folder);
      if (prev && prev.fingerprint === fingerprint) continue;
      this.entries.set(folder, await this.load(folder, fingerprint, prev));
    }
    this.rebuildNames();
    this.emit('change');
  }

  private async load(folder: string, fingerprint: string, prev?: Entry): Promise<Entry> {
    const entry: Entry = { folder, fingerprint, name: prev?.name ?? folder, active: prev?.active };
    if (prev?.pending) void prev.pending.drain(); // superseded before it finished warming
    let spec;
    try {
      spec = await loadFunctionFolder(join(this.dir, folder), this.opts.config);
      spec = await buildHandler(spec, buildRoot(this.opts.config.state_dir));
    } catch (err) {
      if (entry.active) this.retireEntry({ ...entry, pending: undefined }, 'invalid');
      this.opts.log?.('function invalid', { folder, err: (err as Error).message });
      return { folder, fingerprint, name: folder, invalid: (err as Error).message };
    }
    const clash = [...this.entries.values()].find((e) => e.folder !== folder && e.name === spec.name && !e.invalid);
    if (clash) {
      if (entry.active) this.retireEntry({ ...entry, pending: undefined }, 'invalid');
      void removeBuild(spec);
      return { folder, fingerprint, name: folder, invalid: `function name '${spec.name}' is already used by folder '${clash.folder}'` };
    }
    if (entry.active && entry.active.spec.name !== spec.name) {
      this.retireEntry({ ...entry, pending: undefined }, 'renamed');
      entry.active = undefined;
    }
    entry.name = spec.name;
    const dep = this.createDeployment(spec);
    if (!entry.active) {
      entry.active = dep; // first deploy: requests queue in its pool while it warms
      this.track(dep.warmUp());
    } else {
      entry.pending = dep; // redeploy: the old version serves until the new one is warm
      this.track(dep.warmUp().then(() => this.promote(entry, dep)));
    }
    this.opts.log?.(prev ? 'function redeploying' : 'function deploying', { fn: spec.name, version: spec.version });
    return entry;
  }

  private promote(entry: Entry, dep: Deployment): void {
    if (entry.pending !== dep || this.entries.get(entry.folder) !== entry) return; // superseded meanwhile
    const old = entry.active;
    entry.active = dep;
    entry.pending = undefined;
    if (old) void old.drain();
    this.emit('change');
  }

  private createDeployment(spec: ConstructorParameters<typeof Deployment>[0]): Deployment {
    const { config } = this.opts;
    const override = this.overrides.get(spec.name, spec.manifestHash);
    return new Deployment(spec, {
      spec,
      poolSettings: override ? applyUpdate(spec.pool, override) : undefined,
      engine: this.opts.engine,
      limits: this.limits,
      scope: this.opts.scope,
      runDir: this.runDir,
      startupTimeoutMs: config.sandbox.startup_timeout_sec * 1000,
      queueMax: config.pool.queue_max,
      queueTimeoutMs: config.pool.queue_timeout_sec * 1000,
      onPoolEvent: this.opts.onPoolEvent,
      logs: this.opts.logs,
    });
  }

  private track(p: Promise<void>): void {
    const t = p.finally(() => this.warming.delete(t));
    this.warming.add(t);
  }

  private retireEntry(entry: Entry, why: string): void {
    this.opts.log?.('function undeploying', { fn: entry.name, why });
    for (const d of [entry.active, entry.pending]) if (d) this.track(d.drain());
  }

  private rebuildNames(): void {
    const byName = new Map<string, Entry>();
    for (const e of this.entries.values()) if (!byName.has(e.name) || !e.invalid) byName.set(e.name, e);
    this.byName = byName;
  }

  /**
   * Change pool knobs live: raising min prewarms at once, lowering it lets extras idle out, lowering
   * max retires idle extras. Kept (in the state directory) until the manifest changes or a reset.
   */
  async setPool(name: string, update: PoolUpdate): Promise<FunctionInfo> {
    const entry = this.activeEntry(name);
    const merged = applyUpdate(entry.active!.pool.config, update);
    if (merged.min > merged.max) {
      throw new TitanError('invalid_request', `pool.min must be <= pool.max (would be min ${merged.min}, max ${merged.max})`);
    }
    for (const d of [entry.active, entry.pending]) d?.pool.update(applyUpdate(d.pool.config, update));
    await this.overrides.set(name, entry.active!.spec.manifestHash, update);
    this.opts.log?.('pool settings changed', { fn: name, ...update });
    return describe(entry);
  }

  /** Back to the manifest's pool settings. */
  async resetPool(name: string): Promise<FunctionInfo> {
    const entry = this.activeEntry(name);
    for (const d of [entry.active, entry.pending]) d?.pool.update(d.spec.pool);
    await this.overrides.delete(name);
    this.opts.log?.('pool settings reset to the manifest', { fn: name });
    return describe(entry);
  }

  private activeEntry(name: string): Entry {
    const entry = this.byName.get(name);
    if (!entry) throw new TitanError('not_found', `no function named '${name}'`);
    if (!entry.active) throw new TitanError('function_invalid', `function '${name}' is invalid: ${entry.invalid}`);
    return entry;
  }

  /** Stop watching and drain every function; containers are removed. */
  async close(): Promise<void> {
    this.watcher?.close();
    clearTimeout(this.debounce);
    await this.scanning?.catch(() => {});
    const all = [...this.entries.values()];
    this.entries.clear();
    this.byName.clear();
    await Promise.allSettled(all.flatMap((e) => [e.active?.drain(), e.pending?.drain()]));
    await this.settled().catch(() => {});
  }
}

function describe(e: Entry): FunctionInfo {
  const d = e.active;
  if (!d) {
    return {
      name: e.name, version: '', runtime: 'node', status: 'invalid', error: e.invalid, triggers: [],
      pool: { min: 0, max: 0, concurrency: 0, idle_sec: 0, warm: 0, busy: 0, starting: 0, queued: 0 },
      stats: { invocations: 0, cold_starts: 0, wait_p50_ms: 0, wait_p99_ms: 0 },
      pool_overridden: false,
    };
  }
  const { spec } = d;
  const error = d.error;
  return {
    name: spec.name,
    version: spec.version,
    runtime: spec.runtime,
    status: d.status,
    ...(error ? { error } : {}),
    triggers: spec.triggers.map((t) => (t.eventType === undefined ? { topic: t.topic } : { topic: t.topic, event_type: t.eventType })),
    pool: poolView(d.pool.config, d.pool.stats()),
    stats: {
      invocations: d.waits.count,
      cold_starts: d.coldStarts,
      wait_p50_ms: round3(d.waits.quantile(0.5)),
      wait_p99_ms: round3(d.waits.quantile(0.99)),
    },
    pool_overridden: JSON.stringify(d.pool.config) !== JSON.stringify(spec.pool),
  };
}

function poolView(c: PoolSettings, s: PoolStats): FunctionInfo['pool'] {
  return { min: c.min, max: c.max, concurrency: c.concurrency, idle_sec: c.idleSec, warm: s.warm, busy: s.busy, starting: s.starting, queued: s.queued };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
