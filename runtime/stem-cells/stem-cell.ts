// One stem cell: a container of a runtime's image running its bootstrap with no function loaded, locked
// down as every function container is (sandbox.ts stemCellSpecFor), with its own empty /fn and
// /fn-build. specialize() makes it one function's container, once: its code appears in those
// directories, the engine gives it the function's limits, and the bootstrap takes the function's
// environment and loads the handler. It is then that function's pool member until it is removed;
// it never goes back to a stem pool, so no function ever sees another's files or leftovers.
//
// Labels cannot change on a running container: a specialized cell keeps its `titan.stem` label and
// stem name. The deployment's pool tracks it; orphan cleanup finds it by scope like any container.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FunctionContainer } from '../container.ts';
import type { ContainerEngine, ContainerLogLine } from '../engine/engine.ts';
import type { LogStore } from '../logs.ts';
import { functionEnv, functionLimits, stemCellSpecFor, type SandboxLimits } from '../sandbox.ts';
import type { FunctionSpec, Runtime } from '../spec.ts';
import { fillFrom } from './code-dir.ts';
import { sameLimits } from './cold-start-route.ts';

export interface StemCellOptions {
  engine: ContainerEngine;
  limits: SandboxLimits;
  scope: string;
  /** host directory under which each container gets its socket directory */
  runDir: string;
  /** host directory under which each cell gets its code directories (cellsDirOf) */
  cellsDir: string;
  startupTimeoutMs: number;
}

/** The cell could not be made the function's for a reason of its own (not the function's): start a container instead. */
export class StemCellUnusable extends Error {
  constructor(
    message: string,
    /** the same would happen with every cell (the engine refuses the function's limits) */
    readonly everyCell: boolean,
  ) {
    super(message);
  }
}

export class StemCell {
  /** where the cell's output goes: nowhere until it has a function */
  private sink?: (line: ContainerLogLine, id: string) => void;
  private used = false;

  private constructor(
    readonly runtime: Runtime,
    readonly container: FunctionContainer,
    private readonly dir: string,
    private readonly opts: StemCellOptions,
  ) {}

  get id(): string {
    return this.container.id;
  }

  get exited(): Promise<unknown> {
    return this.container.exited;
  }

  /** Create, start and wait until its bootstrap answered; removed again when that fails. */
  static async start(runtime: Runtime, image: string, opts: StemCellOptions): Promise<StemCell> {
    const suffix = randomBytes(4).toString('hex');
    const dir = join(opts.cellsDir, suffix);
    const codeDir = join(dir, 'fn');
    const buildDir = join(dir, 'build');
    await mkdir(opts.cellsDir, { recursive: true, mode: 0o700 }); // only the gateway and the engine go there
    await mkdir(codeDir, { recursive: true, mode: 0o755 });
    await mkdir(buildDir, { mode: 0o755 });
    const socketDir = join(opts.runDir, suffix);
    const spec = stemCellSpecFor(runtime, image, opts.limits, {
      containerName: `titan-${opts.scope}-stem-${runtime}-${suffix}`,
      socketDir,
      scope: opts.scope,
      codeDir,
      buildDir,
    });
    let cell: StemCell | undefined;
    try {
      const container = await FunctionContainer.start(opts.engine, spec, {
        socketDir,
        startupTimeoutMs: opts.startupTimeoutMs,
        maxResponseBytes: opts.limits.maxResponseBytes,
        onLog: (line, id) => cell?.sink?.(line, id),
        ownDirs: [dir],
      });
      cell = new StemCell(runtime, container, dir, opts);
      return cell;
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Make it `fn`'s container and return it. Throws StemCellUnusable when the cell could not be
   * prepared (its code could not be placed, the engine refused the limits): nothing of the function
   * ran, a container of its own will do. Any other error is the function's, as a start's would be
   * (function_invalid: the handler does not load; sandbox_error: it died loading, out of memory).
   * Either way a cell that was not returned is removed: it is never used for anything else.
   */
  async specialize(fn: FunctionSpec, logs?: LogStore): Promise<FunctionContainer> {
    if (this.used)
      throw new StemCellUnusable('this stem cell was already given to a function', false);
    this.used = true;
    const { container, opts } = this;
    try {
      await Promise.all([
        fillFrom(fn.dir, join(this.dir, 'fn')),
        fn.build ? fillFrom(fn.build.dir, join(this.dir, 'build')) : undefined,
      ]).catch((err: Error) => {
        throw new StemCellUnusable(
          `could not place the code of '${fn.name}' in a stem cell: ${err.message}`,
          false,
        );
      });
      const limits = functionLimits(fn, opts.limits);
      // Before the handler loads: it loads (and may run out of memory) under the function's limits.
      if (!sameLimits(limits, opts.limits.defaultLimits)) {
        await opts.engine.update(container.id, limits).catch((err: Error) => {
          // e.g. a memory limit below what an idle bootstrap already uses: every cell would refuse.
          throw new StemCellUnusable(
            `the engine refused to give a stem cell the limits of '${fn.name}': ${err.message}`,
            true,
          );
        });
      }
      this.sink = logs && ((line, id) => logs.add(fn.name, id, line));
      await container.specialize(functionEnv(fn), fn.build !== undefined, opts.startupTimeoutMs);
      return container;
    } catch (err) {
      await container.stop().catch(() => {});
      throw err;
    }
  }

  /** Remove it (never used, or failed). */
  stop(): Promise<void> {
    return this.container.stop();
  }
}

/** Where the cells' code directories live under the state directory. */
export const cellsDirOf = (stateDir: string): string => join(stateDir, 'cells');
