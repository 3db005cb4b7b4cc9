// Pool knobs changed live through the API (PUT/DELETE /functions/:name/pool): applied at once to the
// function's deployments (raising min prewarms, lowering it lets extras idle out, lowering max retires
// idle extras) and kept in the state directory (pool-overrides.ts) until the manifest changes or a reset.
import type { Deployment } from '../deployment.ts';
import { TitanError } from '../errors.ts';
import { applyUpdate, PoolOverrides, type PoolUpdate } from '../pool-overrides.ts';
import type { FunctionSpec, PoolSettings } from '../spec.ts';
import type { Entry } from './deployer.ts';

export class PoolKnobs {
  private readonly overrides: PoolOverrides;

  constructor(
    file: string,
    private readonly log?: (msg: string, fields?: Record<string, unknown>) => void,
  ) {
    this.overrides = new PoolOverrides(file);
  }

  load(): Promise<void> {
    return this.overrides.load();
  }

  /** The settings a new deployment starts with: an override made against this manifest, else none (the manifest's). */
  settingsFor(spec: FunctionSpec): PoolSettings | undefined {
    const override = this.overrides.get(spec.name, spec.manifestHash);
    return override && applyUpdate(spec.pool, override);
  }

  /** Throws invalid_request when the result would have min above max; nothing changes then. */
  async set(name: string, entry: Entry | undefined, update: PoolUpdate): Promise<void> {
    const e = deployed(name, entry);
    const merged = applyUpdate(e.active.pool.config, update);
    if (merged.min > merged.max) {
      throw new TitanError(
        'invalid_request',
        `pool.min must be <= pool.max (would be min ${merged.min}, max ${merged.max})`,
      );
    }
    for (const d of [e.active, e.pending]) d?.pool.update(applyUpdate(d.pool.config, update));
    await this.overrides.set(name, e.active.spec.manifestHash, update);
    this.log?.('pool settings changed', { fn: name, ...update });
  }

  /** Back to the manifest's pool settings. */
  async reset(name: string, entry: Entry | undefined): Promise<void> {
    const e = deployed(name, entry);
    for (const d of [e.active, e.pending]) d?.pool.update(d.spec.pool);
    await this.overrides.delete(name);
    this.log?.('pool settings reset to the manifest', { fn: name });
  }
}

/** Knobs apply to a deployed function: not_found without one, function_invalid when it is invalid. */
function deployed(name: string, entry: Entry | undefined): Entry & { active: Deployment } {
  if (!entry) throw new TitanError('not_found', `no function named '${name}'`);
  if (!entry.active)
    throw new TitanError('function_invalid', `function '${name}' is invalid: ${entry.invalid}`);
  return entry as Entry & { active: Deployment };
}
