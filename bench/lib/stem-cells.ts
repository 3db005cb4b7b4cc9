// Scenario: stem cells (issue #13). The first call of a min 0 function served by a stem cell specialized
// for it, against the raw create + start + ready of the same run; 8 functions at min 0 called at once,
// served from the stem pool (at min, then raised by the first burst's misses) against the same burst
// of classic starts; a ready stem cell's memory; the gateway's RSS with 50 functions deployed at min 0.
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { engineOptionsFromHost } from '../../runtime/engine/locate.ts';
import { LABEL } from '../../runtime/sandbox.ts';
import { scopeOf } from '../../gateway/gateway.ts';
import type { BenchContext } from './context.ts';
import { rawStart } from './cold-start.ts';
import {
  dropFunction,
  HOSTNAME_HANDLER,
  removeFunction,
  STEM_MAX,
  STEM_MIN,
  writeFunctionFolder,
  type FunctionShape,
} from './fixture.ts';
import { functionStatus, waitFor, waitUndeployed } from './gateway-api.ts';
import { KeepAliveClient } from './http-client.ts';
import { containerMemory } from './memory.ts';
import { progress } from './progress.ts';
import { measurement, type Measurement } from './record.ts';
import { percentile, spread } from './stats.ts';

const MIN0: FunctionShape['pool'] = { min: 0, max: 1, concurrency: 1 };
const BURST = 8;
const IDLE_FUNCTIONS = 50;
const MiB = 1024 ** 2;

/** The node runtime image by its id: the same image under a name that is not the stem cells', so classic. */
export async function classicImage(ctx: BenchContext): Promise<string> {
  const docker = new Docker(engineOptionsFromHost(ctx.dockerHost));
  return (await docker.getImage(ctx.bench.config.sandbox.image).inspect()).Id;
}

async function metric(ctx: BenchContext, series: string): Promise<number> {
  const text = await (await fetch(`${ctx.gateway.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

const stemReady = (ctx: BenchContext, n: number) =>
  waitFor(
    `${n} node stem cells ready`,
    async () => (await metric(ctx, 'titan_stem_cells{runtime="node",state="ready"}')) >= n,
    60_000,
    20,
  );

/** Every container made as a node stem cell (ready, or specialized since: labels never change). */
const stemContainers = (ctx: BenchContext) =>
  ctx.engine.listByLabels({
    [LABEL.scope]: scopeOf(ctx.bench.config.stateDir),
    [LABEL.stem]: 'node',
  });

interface Deployed {
  names: string[];
  /** deployed and ready: each call is its first */
  call(name: string): Promise<{ ms: number; host: string }>;
  remove(): Promise<void>;
}

/** Deploy `n` functions at min 0 that answer their container's hostname; wait until each is ready. */
async function deployMin0(
  ctx: BenchContext,
  prefix: string,
  n: number,
  shape: Partial<FunctionShape> = {},
): Promise<Deployed> {
  const names = Array.from(
    { length: n },
    (_, i) => `${prefix}-${randomBytes(3).toString('hex')}-${i}`,
  );
  for (const name of names)
    await dropFunction(ctx.bench, name, { pool: MIN0, source: HOSTNAME_HANDLER, ...shape });
  for (const name of names)
    await waitFor(
      `deploy of ${name}`,
      async () => (await functionStatus(ctx, name)) === 'ready',
      30_000,
      20,
    );
  const clients = new Map(
    names.map((name) => [
      name,
      new KeepAliveClient({
        host: '127.0.0.1',
        port: ctx.gateway.port,
        path: `/functions/${name}/invoke`,
      }),
    ]),
  );
  return {
    names,
    call: async (name) => {
      const t0 = performance.now();
      const reply = await clients.get(name)!.send('{}');
      const ms = performance.now() - t0;
      if (reply.status !== 200 || reply.headers['x-cold-start'] !== 'true') {
        throw new Error(
          `cold call to ${name}: status ${reply.status}, x-cold-start ${reply.headers['x-cold-start']}: ${reply.body.slice(0, 200)}`,
        );
      }
      return { ms, host: JSON.parse(reply.body) as string };
    },
    remove: async () => {
      for (const c of clients.values()) c.close();
      for (const name of names) await removeFunction(ctx.bench, name);
      for (const name of names) await waitUndeployed(ctx, name);
    },
  };
}

/** Which path served each call: a container made as a stem cell before the calls, or not. */
function pathsOf(stemBefore: string[], hosts: string[]) {
  const stem = hosts.filter((h) => stemBefore.some((id) => id.startsWith(h))).length;
  return { stem, classic: hosts.length - stem, hosts };
}

/** The specialized containers drain with their functions: gone before the next step starts. */
async function waitGone(ctx: BenchContext, hosts: string[]): Promise<void> {
  await waitFor(
    'specialized containers removed',
    async () => !(await stemContainers(ctx)).some((c) => hosts.some((h) => c.id.startsWith(h))),
    30_000,
    50,
  );
}

/** One cold call through a stem cell (asserted: the container was a stem cell before the call). */
async function coldStem(ctx: BenchContext, shape: Partial<FunctionShape> = {}): Promise<number> {
  const d = await deployMin0(ctx, 'stem', 1, shape);
  try {
    await stemReady(ctx, STEM_MIN);
    const before = (await stemContainers(ctx)).map((c) => c.id);
    const { ms, host } = await d.call(d.names[0]!);
    if (pathsOf(before, [host]).stem !== 1)
      throw new Error(`the cold call to ${d.names[0]} was not served by a stem cell`);
    await d.remove();
    await waitGone(ctx, [host]);
    return ms;
  } catch (err) {
    await d.remove().catch(() => {});
    throw err;
  }
}

/** BURST functions called at once: time until every call answered, and how many each path served. */
async function burst(
  ctx: BenchContext,
  image?: string,
): Promise<{ ms: number; stem: number; classic: number }> {
  const d = await deployMin0(ctx, image ? 'bclassic' : 'bstem', BURST, image ? { image } : {});
  try {
    const before = (await stemContainers(ctx)).map((c) => c.id);
    const t0 = performance.now();
    const results = await Promise.all(d.names.map((n) => d.call(n)));
    const ms = performance.now() - t0;
    const paths = pathsOf(
      before,
      results.map((r) => r.host),
    );
    await d.remove();
    await waitGone(ctx, paths.hosts);
    return { ms, stem: paths.stem, classic: paths.classic };
  } catch (err) {
    await d.remove().catch(() => {});
    throw err;
  }
}

export async function stemCells(ctx: BenchContext): Promise<Measurement[]> {
  const refDir = await writeFunctionFolder(ctx.bench, 'stemref', { pool: MIN0 });
  const image = await classicImage(ctx);
  const samples = Math.max(10, ctx.sizes.coldReps * 8);
  const specialization = async () => ({
    sum: await metric(
      ctx,
      'titan_stem_cell_specialization_seconds_sum{runtime="node",outcome="ok"}',
    ),
    count: await metric(
      ctx,
      'titan_stem_cell_specialization_seconds_count{runtime="node",outcome="ok"}',
    ),
  });
  const raw: number[] = [];
  const stem: number[] = [];
  let spec0 = { sum: 0, count: 0 };
  // Interleaved with the raw reference (one raw start per four stem cold starts), after one of each as a warm-up.
  for (let i = -1; i < samples; i++) {
    progress(`stem cells: cold start ${i < 0 ? 'warm-up' : `${i + 1}/${samples}`}`);
    if (i % 4 === 0 || i < 0) {
      const r = await rawStart(ctx, refDir);
      if (i >= 0) raw.push(r);
    }
    if (i === 0) spec0 = await specialization(); // after the warm-up's
    const s = await coldStem(ctx);
    if (i >= 0) stem.push(s);
  }
  const rawMedian = spread(raw).median;
  const spec1 = await specialization(); // before the 256Mi ones: the figure is for the default resources
  const specMs = ((spec1.sum - spec0.sum) / (spec1.count - spec0.count)) * 1000;
  // Resources other than the stem cells' (the sandbox defaults): the engine sets them on the cell first.
  const updated: number[] = [];
  for (let i = 0; i < Math.ceil(samples / 2); i++) {
    progress(`stem cells: cold start with its own memory limit ${i + 1}/${Math.ceil(samples / 2)}`);
    updated.push(await coldStem(ctx, { memory: '256Mi' }));
  }
  const p50 = percentile(stem, 0.5);
  const p99 = percentile(stem, 0.99);

  // The first burst finds the pool at min; its misses raise it (up to max) for the next ones.
  progress('stem cells: burst at min');
  await stemReady(ctx, STEM_MIN);
  const first = await burst(ctx);
  const raised: Array<{ ms: number; stem: number; classic: number }> = [];
  const classic: number[] = [];
  const reps = Math.max(1, Math.min(3, ctx.sizes.coldReps));
  for (let rep = 0; rep < reps; rep++) {
    progress(`stem cells: burst ${rep + 1}/${reps}, raised pool and classic`);
    await stemReady(ctx, Math.min(STEM_MAX, BURST));
    raised.push(await burst(ctx));
    classic.push((await burst(ctx, image)).ms);
  }

  progress('stem cells: memory');
  await stemReady(ctx, STEM_MIN);
  const cells = await stemContainers(ctx);
  const cellMemory = await Promise.all(cells.map((c) => containerMemory(ctx.dockerHost, c.id)));
  const rssBefore = (await ctx.gateway.memory()).rss;
  const idle = await deployMin0(ctx, 'idle', IDLE_FUNCTIONS);
  const rssWith = (await ctx.gateway.memory()).rss;
  await idle.remove();

  const burstRef = {
    name: `the same burst, classic starts (image by id), median of ${reps}`,
    value: spread(classic),
  };
  return [
    measurement({
      name: 'cold start, stem cell: first invocation, p50',
      unit: 'ms',
      value: { median: p50, min: Math.min(...stem), max: Math.max(...stem), n: stem.length },
      reference: { name: 'raw create + start + ready (engine API), same run', value: spread(raw) },
      target: {
        text: 'p50 <= 30 ms and ratio <= 0.2',
        met: (v, _r, ratio) => v <= 30 && ratio! <= 0.2,
      },
      note: `over ${stem.length} cold calls, each to a new function at min 0, its container a stem cell before the call; of which the gateway's specialization (code, limits, handler load) ${specMs.toFixed(1)} ms on average`,
    }),
    measurement({
      name: 'cold start, stem cell: first invocation, p99',
      unit: 'ms',
      value: { median: p99, min: Math.min(...stem), max: Math.max(...stem), n: stem.length },
      reference: { name: 'raw create + start + ready (engine API), same run', value: rawMedian },
      target: { text: 'p99 <= 60 ms', met: (v) => v <= 60 },
    }),
    measurement({
      name: 'cold start, stem cell, own memory limit (engine update): first invocation, p50',
      unit: 'ms',
      value: {
        median: percentile(updated, 0.5),
        min: Math.min(...updated),
        max: Math.max(...updated),
        n: updated.length,
      },
      reference: { name: 'raw create + start + ready (engine API), same run', value: rawMedian },
      note: `resources.memory 256Mi against the cells' ${ctx.bench.config.sandbox.defaultMemory}: the engine's update API sets the limits before the handler loads`,
    }),
    measurement({
      name: `scale from zero under burst: ${BURST} functions at min 0 at once, stem pool at min ${STEM_MIN}`,
      unit: 'ms',
      value: spread([first.ms]),
      reference: burstRef,
      note: `${first.stem} served by stem cells, ${first.classic} by classic starts`,
    }),
    measurement({
      name: `scale from zero under burst: the next bursts, stem pool raised by misses (max ${STEM_MAX})`,
      unit: 'ms',
      value: spread(raised.map((r) => r.ms)),
      reference: burstRef,
      note: `served by stem cells: ${raised.map((r) => `${r.stem}/${BURST}`).join(', ')}`,
    }),
    measurement({
      name: 'stem cell idle memory (node, ready)',
      unit: 'MiB',
      value: spread(cellMemory.map((m) => m / MiB)),
      note: `${cells.length} ready cells, cgroup usage minus inactive file pages`,
    }),
    measurement({
      name: `gateway RSS with ${IDLE_FUNCTIONS} functions deployed at min 0`,
      unit: 'MiB',
      value: spread([rssWith / MiB]),
      reference: { name: 'the same gateway before they were deployed', value: rssBefore / MiB },
    }),
  ];
}
