// Scenario 2: first call with an empty pool (min 0), classic path (a container of its own, not a stem
// cell: the manifest names the runtime image by its id), vs a raw create + start + ready with the same spec.
import { randomBytes } from 'node:crypto';
import { FunctionContainer } from '../../runtime/container.ts';
import type { BenchContext } from './context.ts';
import {
  dropFunction,
  removeFunction,
  writeFunctionFolder,
  type FunctionShape,
} from './fixture.ts';
import { functionStatus, waitFor, waitUndeployed } from './gateway-api.ts';
import { KeepAliveClient } from './http-client.ts';
import { progress } from './progress.ts';
import { limitsOf, rawPlacement } from './raw-container.ts';
import { measurement, type Measurement } from './record.ts';
import { spread } from './stats.ts';
import { classicImage } from './stem-cells.ts';

const SHAPE: FunctionShape = { pool: { min: 0, max: 1, concurrency: 1 } };

/** Create + start + first health answer, through the runtime's own container code; then removed. */
export async function rawStart(ctx: BenchContext, fnDir: string): Promise<number> {
  const { socketDir, spec } = await rawPlacement(ctx, fnDir);
  const t0 = performance.now();
  const c = await FunctionContainer.start(ctx.engine, spec, {
    socketDir,
    startupTimeoutMs: 30_000,
    maxResponseBytes: limitsOf(ctx).maxResponseBytes,
  });
  const ms = performance.now() - t0;
  await c.stop();
  return ms;
}

/** Deploy a min-0 function, time its first call (which must report x-cold-start), undeploy it. */
async function coldInvoke(ctx: BenchContext, image: string): Promise<number> {
  const name = `cold-${randomBytes(3).toString('hex')}`;
  await dropFunction(ctx.bench, name, { ...SHAPE, image });
  return timeFirstCall(ctx, name);
}

/** Time the first call to `name`, just dropped in at min 0, once it is ready (it must report x-cold-start); then remove it. */
export async function timeFirstCall(
  ctx: BenchContext,
  name: string,
  readyWithinMs = 30_000,
): Promise<number> {
  const client = new KeepAliveClient({
    host: '127.0.0.1',
    port: ctx.gateway.port,
    path: `/functions/${name}/invoke`,
  });
  try {
    await waitFor(
      `deploy of ${name}`,
      async () => (await functionStatus(ctx, name)) === 'ready',
      readyWithinMs,
      20,
    );
    const t0 = performance.now();
    const reply = await client.send('{}');
    const ms = performance.now() - t0;
    if (reply.status !== 200 || reply.headers['x-cold-start'] !== 'true') {
      throw new Error(
        `cold call to ${name}: status ${reply.status}, x-cold-start ${reply.headers['x-cold-start']}: ${reply.body.slice(0, 200)}`,
      );
    }
    return ms;
  } finally {
    client.close();
    await removeFunction(ctx.bench, name);
    await waitUndeployed(ctx, name);
  }
}

export async function coldStart(ctx: BenchContext): Promise<Measurement[]> {
  const refDir = await writeFunctionFolder(ctx.bench, 'coldref', SHAPE);
  const image = await classicImage(ctx);
  const raw: number[] = [];
  const cold: number[] = [];
  const reps = ctx.sizes.coldReps;
  // Rep 0 warms up (engine caches, the gateway's first deploy path) and is not counted.
  for (let rep = 0; rep <= reps; rep++) {
    progress(`cold start: ${rep === 0 ? 'warm-up' : `rep ${rep}/${reps}`}`);
    const first = rep % 2 === 0;
    const r = first ? await rawStart(ctx, refDir) : 0;
    const c = await coldInvoke(ctx, image);
    const r2 = first ? r : await rawStart(ctx, refDir);
    if (rep === 0) continue;
    raw.push(r2);
    cold.push(c);
  }
  ctx.facts.rawStartMs = spread(raw).median;
  return [
    measurement({
      name: 'cold start, classic: first invocation, empty pool',
      unit: 'ms',
      value: spread(cold),
      reference: { name: 'raw create + start + ready (engine API)', value: spread(raw) },
      target: { text: 'ratio <= 1.25', met: (_v, _r, ratio) => ratio! <= 1.25 },
    }),
  ];
}
