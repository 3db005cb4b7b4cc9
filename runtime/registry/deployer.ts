// The deploy state machine: brings the deployed functions in line with the desired state the folder
// watcher reports (folder → fingerprint). A folder that is new or whose fingerprint changed goes
// through deploy(), top to bottom: validate the manifest, build the handler (TypeScript), refuse a
// name another folder holds, retire the old name on a rename, then deploy (first version: serves
// while it warms) or redeploy (new version warms while the old serves, then the old drains). A
// folder that is gone is undeployed. A new version that fails (manifest, build, a container that
// does not start) leaves the previous good one serving and is recorded as its `failedUpdate`; only
// a folder with no good version is listed invalid. Either way nothing else is disturbed.
import { join } from 'node:path';
import { buildHandler, buildRoot, removeBuild } from '../build.ts';
import type { RuntimeConfig } from '../config.ts';
import type { Deployment } from '../deployment.ts';
import { TitanError } from '../errors.ts';
import { loadFunctionFolder } from '../manifest.ts';
import { removeSecretCopies, secretCopiesRoot, secretsDirOf, SecretStore } from '../secrets.ts';
import type { FunctionSpec } from '../spec.ts';
import type { Isolation } from '../engine/runtimes.ts';
import type { DesiredState } from './folder-watcher.ts';
import { SecretRolls } from './secret-rolls.ts';

/** One function folder as deployed. */
export interface Entry {
  folder: string;
  fingerprint: string;
  /** the function's name; an invalid folder is listed under its folder name */
  name: string;
  /** serving traffic */
  active?: Deployment;
  /** a redeploy warming up; becomes active once warm */
  pending?: Deployment;
  /** why it is not deployed */
  invalid?: string;
  /** of an invalid folder whose manifest resolved: what it asked to run under */
  isolation?: Isolation;
  /** invalid because this folder holds the name: looked at again once it no longer does */
  blockedBy?: { folder: string; name: string };
  /** the newest version failed; `active` (the previous good one) keeps serving */
  failedUpdate?: FailedUpdate;
}

/** A new version that did not replace the serving one, and why. */
export interface FailedUpdate {
  reason: string;
  /** invalid_manifest, function_invalid (build or load), sandbox_error (a container did not start) */
  code: string;
  /** ISO time it failed */
  at: string;
  /** the folder's fingerprint of the failed version: it is not retried until the folder changes */
  fingerprint: string;
}

export interface DeployerOptions {
  config: RuntimeConfig;
  /** a Deployment for a spec (engine, sandbox limits, live pool settings): the registry wires it */
  create: (spec: FunctionSpec) => Deployment;
  /** a redeploy became active after its warm-up: what is served changed between reconciles */
  onPromoted: () => void;
  /** why this engine cannot run the spec (e.g. isolation gvisor without runsc), checked before it deploys */
  refuse?: (spec: FunctionSpec) => Promise<string | undefined>;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** a failed update (the old version keeps serving): worth a warning */
  warn?: (msg: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
}

export class Deployer {
  /** by folder */
  private readonly entries = new Map<string, Entry>();
  /** by function name; a valid entry wins over an invalid one listed under the same name */
  private names = new Map<string, Entry>();
  /** warm-ups and drains under way, for settled() */
  private readonly work = new Set<Promise<void>>();
  /** the secrets a manifest names: copied for each version, and a change to one redeploys it */
  private readonly secrets: SecretStore;
  private readonly rolls: SecretRolls;

  constructor(private readonly opts: DeployerOptions) {
    this.secrets = new SecretStore(secretsDirOf(opts.config.stateDir));
    this.rolls = new SecretRolls(this.secrets);
  }

  byName(name: string): Entry | undefined {
    return this.names.get(name);
  }

  all(): Entry[] {
    return [...this.names.values()];
  }

  /** One pass: undeploy what is gone, deploy what is new or changed. Not reentrant (the registry serialises). */
  async reconcile(desired: DesiredState): Promise<void> {
    for (const [folder, entry] of this.entries) {
      if (desired.has(folder)) continue;
      this.entries.delete(folder);
      this.rolls.forget(folder);
      this.undeploy(entry, 'removed');
    }
    for (const [folder, fingerprint] of desired) {
      const prev = this.entries.get(folder);
      if (
        prev &&
        prev.fingerprint === fingerprint &&
        !this.unblocked(prev) &&
        !(await this.rolls.changed(folder))
      )
        continue;
      this.entries.set(folder, await this.deploy(folder, fingerprint, prev));
    }
    // A folder that was refused a name its holder (later in the order) gave up in this pass.
    for (const entry of [...this.entries.values()]) {
      if (this.unblocked(entry))
        this.entries.set(entry.folder, await this.deploy(entry.folder, entry.fingerprint, entry));
    }
    this.rebuildNames();
  }

  private async deploy(folder: string, fingerprint: string, prev?: Entry): Promise<Entry> {
    const entry: Entry = {
      folder,
      fingerprint,
      name: prev?.name ?? folder,
      active: prev?.active,
      failedUpdate: prev?.failedUpdate,
    };
    if (prev?.pending) this.track(prev.pending.drain()); // superseded before it finished warming
    const invalid = (why: string, blockedBy?: Entry['blockedBy']): Entry => {
      if (entry.active) this.undeploy({ ...entry, pending: undefined }, 'invalid');
      return {
        folder,
        fingerprint,
        name: folder,
        invalid: why,
        ...(blockedBy ? { blockedBy } : {}),
      };
    };

    // 1. Validate the manifest and build the handler. A version that fails here, over a good one,
    // is a failed update: the good one keeps serving.
    let spec: FunctionSpec;
    try {
      spec = await loadFunctionFolder(
        join(this.opts.config.functionsDir, folder),
        this.opts.config,
      );
      await this.rolls.record(folder, spec.secrets);
      spec = await buildHandler(spec, buildRoot(this.opts.config.stateDir));
      spec = await this.secrets.copyFor(spec, secretCopiesRoot(this.opts.config.stateDir));
    } catch (err) {
      const code = err instanceof TitanError ? err.code : 'function_invalid';
      if (isGood(entry.active)) return this.failUpdate(entry, (err as Error).message, code);
      this.opts.log?.('function invalid', { folder, err: (err as Error).message });
      return invalid((err as Error).message);
    }

    // 1b. What the engine cannot run is invalid now, not at its first start.
    const refused = await this.opts.refuse?.(spec);
    if (refused) {
      void removeBuild(spec);
      return { ...invalid(refused), isolation: spec.isolation };
    }

    // 2. A name belongs to the folder that deployed it first.
    const holder = this.holderOf(spec.name, folder);
    if (holder) {
      void removeBuild(spec);
      void removeSecretCopies(spec);
      return invalid(`function name '${spec.name}' is already used by folder '${holder.folder}'`, {
        folder: holder.folder,
        name: spec.name,
      });
    }

    // 3. A rename: the old name goes at once, the new one deploys from scratch.
    if (entry.active && entry.active.spec.name !== spec.name) {
      this.undeploy({ ...entry, pending: undefined }, 'renamed');
      entry.active = undefined;
    }
    entry.name = spec.name;

    // 4. Deploy, or redeploy with the new version warm before the old one drains.
    const dep = this.opts.create(spec);
    if (!entry.active) {
      entry.active = dep; // first deploy: requests queue in its pool while it warms
      entry.failedUpdate = undefined;
      this.track(dep.warmUp());
    } else {
      entry.pending = dep; // redeploy: the old version serves until the new one is warm
      // At least one container must load the new version before it may replace the old (pool.min 0).
      this.track(dep.warmUp({ probe: true }).then(() => this.promote(entry, dep)));
    }
    this.opts.log?.(prev ? 'function redeploying' : 'function deploying', {
      fn: spec.name,
      version: spec.version,
    });
    return entry;
  }

  /**
   * The new version's warm-up finished. Warm: it replaces the old. Not warm (its handler does not
   * load, or a container did not start): a good old version keeps serving and the new one is
   * dropped; an old one that never worked is replaced anyway, so the newest error shows.
   */
  private promote(entry: Entry, dep: Deployment): void {
    if (entry.pending !== dep || this.entries.get(entry.folder) !== entry) return; // superseded meanwhile
    if (dep.status !== 'ready' && isGood(entry.active)) {
      entry.pending = undefined;
      this.track(dep.drain());
      this.failUpdate(
        entry,
        dep.error ?? 'the new version did not start',
        dep.errorCode ?? 'sandbox_error',
      );
      this.opts.onPromoted(); // what is listed changed
      return;
    }
    const old = entry.active;
    entry.active = dep;
    entry.pending = undefined;
    entry.failedUpdate = undefined;
    if (old) this.track(old.drain());
    this.opts.onPromoted();
  }

  /** Keeps the serving version and records why the new one did not replace it. */
  private failUpdate(entry: Entry, reason: string, code: string): Entry {
    entry.failedUpdate = {
      reason,
      code,
      at: (this.opts.now?.() ?? new Date()).toISOString(),
      fingerprint: entry.fingerprint,
    };
    this.opts.warn?.('function update failed; the previous version keeps serving', {
      fn: entry.name,
      folder: entry.folder,
      code,
      err: reason,
    });
    return entry;
  }

  /** In-flight and queued work finishes; then the containers go. */
  private undeploy(entry: Entry, why: string): void {
    this.opts.log?.('function undeploying', { fn: entry.name, why });
    for (const d of [entry.active, entry.pending]) if (d) this.track(d.drain());
  }

  private holderOf(name: string, folder: string): Entry | undefined {
    return [...this.entries.values()].find(
      (e) => e.folder !== folder && e.name === name && !e.invalid,
    );
  }

  private unblocked(entry: Entry): boolean {
    return (
      !!entry.blockedBy &&
      this.holderOf(entry.blockedBy.name, entry.folder)?.folder !== entry.blockedBy.folder
    );
  }

  private rebuildNames(): void {
    const names = new Map<string, Entry>();
    for (const e of this.entries.values())
      if (!names.has(e.name) || !e.invalid) names.set(e.name, e);
    this.names = names;
  }

  private track(p: Promise<void>): void {
    const t = p.finally(() => this.work.delete(t));
    this.work.add(t);
  }

  /** Resolves once every warm-up and drain started so far has finished. */
  async settled(): Promise<void> {
    while (this.work.size) await Promise.all(this.work);
  }

  /** Drain every function; containers are removed. */
  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.names.clear();
    await Promise.allSettled(all.flatMap((e) => [e.active?.drain(), e.pending?.drain()]));
    await this.settled().catch(() => {});
  }
}

/** A version that serves, or may still come to (warming): not one whose handler never loaded. */
const isGood = (d: Deployment | undefined): d is Deployment => !!d && d.status !== 'invalid';
