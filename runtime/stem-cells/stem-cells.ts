// The gateway's stem cells: one pool per runtime (node, python) of generic containers of that runtime's
// default image, from `sandbox.stem_cells`. Deployments ask here which path their cold starts take
// (cold-start-route.ts) and take a cell to specialize; the registry starts and closes it.
import type { RuntimeConfig } from '../config.ts';
import { functionLimits } from '../sandbox.ts';
import type { FunctionSpec, Runtime } from '../spec.ts';
import { coldStartRoute, type ColdStartRoute, type StemCellKind } from './cold-start-route.ts';
import { StemCell, type StemCellOptions } from './stem-cell.ts';
import { StemPool, type StemPoolStats } from './stem-pool.ts';

export const RUNTIMES: readonly Runtime[] = ['node', 'python'];

/** What each cell is started with (StemCellOptions), and the config its pools come from. */
export interface StemCellsOptions extends StemCellOptions {
  config: Pick<RuntimeConfig, 'sandbox'>;
  /** ready and starting cells of a runtime changed */
  onChange?: (runtime: Runtime, stats: StemPoolStats) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export class StemCells {
  private readonly pools: Record<Runtime, StemPool<StemCell>>;
  private readonly kinds: Record<Runtime, StemCellKind>;

  constructor(private readonly opts: StemCellsOptions) {
    const { sandbox } = opts.config;
    const image: Record<Runtime, string> = { node: sandbox.image, python: sandbox.pythonImage };
    const kind = (rt: Runtime): StemCellKind => ({
      min: sandbox.stemCells[rt].min,
      image: image[rt],
      limits: opts.limits.defaultLimits,
    });
    this.kinds = { node: kind('node'), python: kind('python') };
    const pool = (rt: Runtime) =>
      new StemPool<StemCell>({
        min: sandbox.stemCells[rt].min,
        max: sandbox.stemCells[rt].max,
        start: () => StemCell.start(rt, image[rt], opts),
        onChange: (stats) => opts.onChange?.(rt, stats),
        onStartFailed: (err) =>
          opts.log?.('stem cell start failed', { runtime: rt, err: err.message }),
      });
    this.pools = { node: pool('node'), python: pool('python') };
  }

  /** Which path `fn`'s cold starts take, and why. */
  routeFor(fn: FunctionSpec): ColdStartRoute {
    return coldStartRoute(fn, functionLimits(fn, this.opts.limits), this.kinds[fn.runtime]);
  }

  /** A ready cell of the runtime, or undefined (none ready: a miss, which raises the pool's target). */
  take(runtime: Runtime): StemCell | undefined {
    return this.pools[runtime].take();
  }

  /**
   * Refills of every runtime wait until the returned release is called: for a start that calls are
   * waiting for (specialization or classic), which a container starting beside it would slow down.
   */
  hold(): () => void {
    const releases = RUNTIMES.map((rt) => this.pools[rt].hold());
    return () => {
      for (const r of releases) r();
    };
  }

  stats(runtime: Runtime): StemPoolStats {
    return this.pools[runtime].stats();
  }

  start(): void {
    for (const rt of RUNTIMES) this.pools[rt].start();
  }

  async close(): Promise<void> {
    await Promise.all(RUNTIMES.map((rt) => this.pools[rt].close()));
  }
}
