// One deployment's cold starts: a container started for calls that are waiting comes from a ready stem
// cell specialized for the function when it can (its route, cold-start-route.ts), else it is a
// container of its own; while it starts and serves its first call, stem cell refills wait (a cell
// starting beside it on the same cores would slow it down). Each cold call is counted by the path of
// the container that served it.
import type { FunctionContainer } from '../container.ts';
import type { LogStore } from '../logs.ts';
import type { FunctionSpec } from '../spec.ts';
import type { ColdStartPath, ColdStartRoute, StemEvent } from './cold-start-route.ts';
import { StemCellUnusable } from './stem-cell.ts';
import type { StemCells } from './stem-cells.ts';

/** Longest a container started for waiting calls holds refills back (its call may have given up). */
const HOLD_MS = 1000;

export interface ColdStartsOptions {
  spec: FunctionSpec;
  /** none: every cold start is a container of its own */
  stemCells?: StemCells;
  logs?: LogStore;
  onEvent?: (e: StemEvent) => void;
}

export class ColdStarts {
  /** which path this version's cold starts take, and why; an engine's refusal turns it to container */
  route: ColdStartRoute;
  /** cold calls since deploy, by the path of the container that served them */
  readonly byPath: Record<ColdStartPath, number> = { stem_cell: 0, container: 0 };
  /** containers that were stem cells */
  private readonly specialized = new WeakSet<FunctionContainer>();
  /** started for waiting calls: the release of their hold on refills, until their first call ends */
  private readonly holding = new WeakMap<FunctionContainer, () => void>();

  constructor(private readonly opts: ColdStartsOptions) {
    this.route = opts.stemCells?.routeFor(opts.spec) ?? {
      path: 'container',
      reason: 'no stem cells in this gateway',
    };
  }

  /** A container for waiting calls: a specialized stem cell, or `own()` (the classic start). */
  async start(own: () => Promise<FunctionContainer>): Promise<FunctionContainer> {
    const release = this.opts.stemCells?.hold() ?? (() => {});
    try {
      const c =
        (this.route.path === 'stem_cell' ? await this.fromStemCell() : undefined) ?? (await own());
      this.holding.set(c, release);
      setTimeout(release, HOLD_MS).unref();
      return c;
    } catch (err) {
      release();
      throw err;
    }
  }

  /** A cold call is about to run on `worker`: counted by its path. */
  cold(worker: FunctionContainer): void {
    const path = this.specialized.has(worker) ? 'stem_cell' : 'container';
    this.byPath[path]++;
    this.opts.onEvent?.({ kind: 'cold_start', path });
  }

  /** A call on `worker` ended, answered or not: its first one releases the hold on refills. */
  ended(worker: FunctionContainer): void {
    const release = this.holding.get(worker);
    if (!release) return;
    this.holding.delete(worker);
    release();
  }

  /**
   * A ready stem cell made the function's container; undefined when none was ready or it could not be
   * prepared (a container of its own is started then). The function's own failure (the handler does
   * not load, it dies loading) is thrown as a start's would be. The cell is gone either way.
   */
  private async fromStemCell(): Promise<FunctionContainer | undefined> {
    const { spec, stemCells, logs, onEvent } = this.opts;
    const cell = stemCells!.take(spec.runtime);
    if (!cell) return undefined;
    const t0 = performance.now();
    const told = (outcome: 'ok' | 'failed' | 'unusable') =>
      onEvent?.({
        kind: 'specialized',
        runtime: spec.runtime,
        ms: performance.now() - t0,
        outcome,
      });
    try {
      const c = await cell.specialize(spec, logs);
      this.specialized.add(c);
      told('ok');
      return c;
    } catch (err) {
      if (!(err instanceof StemCellUnusable)) {
        told('failed');
        throw err;
      }
      told('unusable');
      if (err.everyCell) this.route = { path: 'container', reason: err.message };
      return undefined;
    }
  }
}
