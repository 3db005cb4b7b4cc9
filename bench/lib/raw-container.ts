// Function containers the bench starts itself, with the runtime's own spec and limits, dialing in to a
// socket the bench (or its minimal proxy) listens on: the references a gateway container is measured against.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DIAL_IN_LIMITS } from '../../runtime/dial-in.ts';
import type { ContainerSpec } from '../../runtime/engine/engine.ts';
import { loadFunctionFolder } from '../../runtime/manifest.ts';
import { SOCKET_FILE } from '../../runtime/protocol.ts';
import { containerSpecFor, sandboxLimits, type SandboxLimits } from '../../runtime/sandbox.ts';
import { BENCH_LABEL } from './cleanup.ts';
import type { BenchContext } from './context.ts';

/** The limits the gateway's own DialInAgent has (runtime/dial-in.ts). */
export { DIAL_IN_LIMITS };

/** The sandbox limits the registry derives from the config, for containers started outside it. */
export const limitsOf = (ctx: BenchContext): SandboxLimits => sandboxLimits(ctx.bench.config);

export interface RawPlacement {
  /** host directory of the listening socket, mounted read-only at /run/titan */
  socketDir: string;
  socketPath: string;
  spec: ContainerSpec;
}

/**
 * The spec the registry would build for the function at `fnDir` (containerSpecFor + sandboxLimits),
 * under a name and label of the bench's own: the gateway's scope cleanup must not see it, ours removes it.
 */
export async function rawPlacement(ctx: BenchContext, fnDir: string): Promise<RawPlacement> {
  const fn = await loadFunctionFolder(fnDir, ctx.bench.config);
  const suffix = randomBytes(4).toString('hex');
  const socketDir = join(ctx.bench.config.stateDir, 'raw', suffix);
  const spec = containerSpecFor(fn, limitsOf(ctx), {
    containerName: `titan-bench-raw-${suffix}`,
    socketDir,
    scope: 'bench',
  });
  spec.labels = { [BENCH_LABEL]: ctx.runId };
  return { socketDir, socketPath: join(socketDir, SOCKET_FILE), spec };
}

/** The socket directory as FunctionContainer.start makes it: the parent the listener's only, the directory readable. */
export async function makeSocketDir(socketDir: string): Promise<void> {
  await mkdir(dirname(socketDir), { recursive: true, mode: 0o700 });
  await mkdir(socketDir, { mode: 0o755 });
}

export interface RawContainer {
  id: string;
  /** Remove the container and its socket directory; safe to call more than once. */
  remove(): Promise<void>;
}

/**
 * Start the container (something must already listen on the placement's socket) and wait until
 * `probe` (a call that waits for the container to dial in) answers: at most `ms`, and failing at
 * once, with its last output, when the container exits. A container that is not ready is removed.
 */
export async function runRawContainer(
  ctx: BenchContext,
  at: RawPlacement,
  probe: () => Promise<void>,
  ms = 30_000,
): Promise<RawContainer> {
  let removed: Promise<void> | undefined;
  const remove = (id?: string) =>
    (removed ??= (async () => {
      try {
        if (id) await ctx.engine.remove(id);
      } finally {
        await rm(at.socketDir, { recursive: true, force: true });
      }
    })());
  let id: string | undefined;
  const timeout = new AbortController();
  let ready = false;
  try {
    id = await ctx.engine.run(at.spec);
    const started = performance.now();
    const exited = ctx.engine.waitExit(id).then(async (e) => {
      if (ready) return; // removed later, not failed
      const logs = (await ctx.engine.logs(id!, 20)).trim();
      throw new Error(
        `bench container ${at.spec.name} exited with code ${e.exitCode} while starting${logs ? `: ${logs}` : ''}`,
      );
    });
    const late = sleep(ms, undefined, { signal: timeout.signal }).then(() => {
      throw new Error(
        `bench container ${at.spec.name} not ready after ${Math.round(performance.now() - started)} ms (limit ${ms} ms)`,
      );
    });
    exited.catch(() => {});
    late.catch(() => {});
    await Promise.race([probe(), exited, late]);
    ready = true;
  } catch (err) {
    await remove(id);
    throw err;
  } finally {
    timeout.abort();
  }
  return { id: id!, remove: () => remove(id) };
}
