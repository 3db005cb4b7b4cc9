// Scenario `gvisor`: what `isolation: gvisor` costs, as ratios to runc measured in the same run through
// the same gateway: a warm no-op call (p50, one client) and a cold first call (pool.min 0, classic path
// for both: the manifest names the runtime image by its id, so runc takes no stem cell either).
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gvisorStatus, type Isolation } from '../../runtime/engine/runtimes.ts';
import type { BenchContext } from './context.ts';
import {
  manifest,
  NOOP_HANDLER,
  ONE_CONTAINER,
  removeFunction,
  type FunctionShape,
} from './fixture.ts';
import { functionStatus, waitFor, waitUndeployed } from './gateway-api.ts';
import { KeepAliveClient } from './http-client.ts';
import { progress } from './progress.ts';
import { measurement, type Measurement } from './record.ts';
import { classicImage } from './stem-cells.ts';
import { timeFirstCall } from './cold-start.ts';
import { percentile, spread } from './stats.ts';

const ISOLATIONS: Isolation[] = ['container', 'gvisor'];
const REFERENCE = 'runc (isolation: container), same run';

/** A function folder with this isolation, moved in whole (as fixture.ts's stageFunction does). */
async function drop(
  ctx: BenchContext,
  name: string,
  shape: FunctionShape,
  isolation: Isolation,
): Promise<void> {
  const staging = join(ctx.bench.dir, `.staging-${name}`);
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, 'function.yaml'), `${manifest(shape)}isolation: ${isolation}\n`);
  await writeFile(join(staging, 'index.js'), NOOP_HANDLER);
  await rename(staging, join(ctx.bench.functionsDir, name));
}

const ready = (ctx: BenchContext, name: string) =>
  waitFor(
    `deploy of ${name}`,
    async () => ((await functionStatus(ctx, name)) === 'ready' ? true : undefined),
    60_000,
    20,
  );

/** p50 of one client's sequential no-op calls, alternating which isolation goes first each rep. */
async function warmP50(ctx: BenchContext): Promise<Record<Isolation, number[]>> {
  const names = { container: `gvw-runc-${ctx.runId}`, gvisor: `gvw-gvisor-${ctx.runId}` };
  for (const iso of ISOLATIONS) await drop(ctx, names[iso], { pool: ONE_CONTAINER }, iso);
  const clients = Object.fromEntries(
    ISOLATIONS.map((iso) => [
      iso,
      new KeepAliveClient({
        host: '127.0.0.1',
        port: ctx.gateway.port,
        path: `/functions/${names[iso]}/invoke`,
      }),
    ]),
  ) as Record<Isolation, KeepAliveClient>;
  const p50: Record<Isolation, number[]> = { container: [], gvisor: [] };
  try {
    for (const iso of ISOLATIONS) await ready(ctx, names[iso]);
    for (let rep = 0; rep < ctx.sizes.reps; rep++) {
      for (const iso of rep % 2 === 0 ? ISOLATIONS : [...ISOLATIONS].reverse()) {
        progress(`gvisor warm: rep ${rep + 1}/${ctx.sizes.reps}, ${iso}`);
        await clients[iso].latencies(
          rep === 0 ? 3 * ctx.sizes.latencyWarmup : ctx.sizes.latencyWarmup,
          30_000,
          () => '{}',
        );
        p50[iso].push(
          percentile(await clients[iso].latencies(ctx.sizes.latencyCount, 60_000, () => '{}'), 0.5),
        );
      }
    }
  } finally {
    for (const c of Object.values(clients)) c.close();
    for (const iso of ISOLATIONS) await removeFunction(ctx.bench, names[iso]);
    for (const iso of ISOLATIONS) await waitUndeployed(ctx, names[iso]);
  }
  return p50;
}

/** Deploy a min-0 function of this isolation, time its first call (x-cold-start), undeploy it. */
async function coldCall(ctx: BenchContext, image: string, iso: Isolation): Promise<number> {
  const name = `gvc-${iso === 'gvisor' ? 'gv' : 'rc'}-${randomBytes(3).toString('hex')}`;
  await drop(ctx, name, { pool: { min: 0, max: 1, concurrency: 1 }, image }, iso);
  return timeFirstCall(ctx, name, 60_000);
}

export async function gvisor(ctx: BenchContext): Promise<Measurement[]> {
  const status = await gvisorStatus(ctx.engine);
  if (!status.ok) throw new Error(status.line);
  const p50 = await warmP50(ctx);
  const image = await classicImage(ctx);
  const cold: Record<Isolation, number[]> = { container: [], gvisor: [] };
  const reps = ctx.sizes.coldReps;
  // Rep 0 warms up (engine caches, runsc's first start) and is not counted.
  for (let rep = 0; rep <= reps; rep++) {
    for (const iso of rep % 2 === 0 ? ISOLATIONS : [...ISOLATIONS].reverse()) {
      progress(`gvisor cold: ${rep === 0 ? 'warm-up' : `rep ${rep}/${reps}`}, ${iso}`);
      const ms = await coldCall(ctx, image, iso);
      if (rep > 0) cold[iso].push(ms);
    }
  }
  return [
    measurement({
      name: 'warm p50, gvisor: 1 client, no-op',
      unit: 'ms',
      value: spread(p50.gvisor),
      reference: { name: REFERENCE, value: spread(p50.container) },
      note: 'through the gateway; the difference is the unix-socket hop into gVisor (its netstack/gofer path) and its slower syscalls',
    }),
    measurement({
      name: 'cold start, gvisor: first invocation, empty pool',
      unit: 'ms',
      value: spread(cold.gvisor),
      reference: { name: `${REFERENCE}, classic path`, value: spread(cold.container) },
      note: 'both start a container of their own (no stem cell): runsc boots its Sentry and Gofer per container',
    }),
  ];
}
