// Scenario 1: a warm no-op call through the gateway vs the same call straight to a container of the
// same function and shape, with nothing in between (and through a minimal proxy to a third such container).
import type { BenchContext } from './context.ts';
import { DirectContainer } from './direct.ts';
import { ONE_CONTAINER, writeFunctionFolder } from './fixture.ts';
import { containerInvokeBody } from './gateway-api.ts';
import { KeepAliveClient } from './http-client.ts';
import { load, type LoadTarget } from './load.ts';
import { progress } from './progress.ts';
import { startProxy, type MinimalProxy } from './proxy.ts';
import { measurement, type Measurement } from './record.ts';
import { percentile, spread } from './stats.ts';

export const WARM_FN = 'noop';
const CONCURRENCY = [1, 8, 32] as const;
const DIRECT = 'direct to a container of the same shape';

type Side = 'gateway' | 'direct' | 'proxy' | 'httpfn';
const SIDES: Side[] = ['direct', 'gateway', 'proxy', 'httpfn'];
/** The same no-op function through the HTTP-function route, measured beside the JSON route at 32. */
const HTTP_FN = 'POST /function/noop';
type LatencySide = Exclude<Side, 'httpfn'>;
const LATENCY_SIDES: LatencySide[] = ['direct', 'gateway', 'proxy'];

/** The three ways to the same no-op call, each to a container of its own, and what throughput loads. */
interface Sides {
  direct: DirectContainer;
  proxy: MinimalProxy;
  targets: Record<Side, LoadTarget>;
}

// Alternate which side goes first, so a drift in the machine's load does not favour one of them.
const order = <T>(sides: T[], rep: number): T[] => (rep % 2 === 0 ? sides : [...sides].reverse());

async function latency(ctx: BenchContext, sides: Sides): Promise<Measurement[]> {
  const { sizes } = ctx;
  let n = 0;
  const clients = {
    gateway: {
      client: new KeepAliveClient({
        host: '127.0.0.1',
        port: ctx.gateway.port,
        path: `/functions/${WARM_FN}/invoke`,
      }),
      body: () => '{}',
    },
    direct: {
      client: new KeepAliveClient({ dialIn: sides.direct.agent, path: '/invoke' }),
      body: () => containerInvokeBody(`bench-${++n}`),
    },
    proxy: {
      client: new KeepAliveClient({ host: '127.0.0.1', port: sides.proxy.port, path: '/' }),
      body: () => '{}',
    },
  };
  const p50: Record<LatencySide, number[]> = { gateway: [], direct: [], proxy: [] };
  const p99: Record<LatencySide, number[]> = { gateway: [], direct: [], proxy: [] };
  try {
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const side of order(LATENCY_SIDES, rep)) {
        progress(`warm latency: rep ${rep + 1}/${sizes.reps}, ${side}`);
        const { client, body } = clients[side];
        await client.latencies(
          rep === 0 ? 3 * sizes.latencyWarmup : sizes.latencyWarmup,
          30_000,
          body,
        );
        const ms = await client.latencies(sizes.latencyCount, 60_000, body);
        p50[side].push(percentile(ms, 0.5));
        p99[side].push(percentile(ms, 0.99));
      }
    }
  } finally {
    for (const c of Object.values(clients)) c.client.close();
  }
  return [
    measurement({
      name: 'warm p50 latency, 1 client',
      unit: 'ms',
      value: spread(p50.gateway),
      reference: { name: DIRECT, value: spread(p50.direct) },
      target: { text: 'value - reference <= 0.3 ms', met: (v, r) => v - r! <= 0.3 },
    }),
    measurement({
      name: 'warm p99 latency, 1 client',
      unit: 'ms',
      value: spread(p99.gateway),
      reference: { name: DIRECT, value: spread(p99.direct) },
    }),
    measurement({
      name: 'warm p50 latency, 1 client, minimal node:http proxy',
      unit: 'ms',
      value: spread(p50.proxy),
      reference: { name: DIRECT, value: spread(p50.direct) },
      note: 'not the gateway: the same hop with nothing else, the floor for a gateway written in Node',
    }),
    measurement({
      name: 'warm p50 latency, 1 client, against the minimal proxy',
      unit: 'ms',
      value: spread(p50.gateway),
      reference: { name: 'minimal node:http proxy, same run', value: spread(p50.proxy) },
      target: { text: 'value - reference <= 0.1 ms', met: (v, r) => v - r! <= 0.1 },
      note: 'the gateway as shipped (compiled, access log at info) against the floor',
    }),
  ];
}

async function throughput(
  ctx: BenchContext,
  { targets }: Sides,
  concurrency: readonly number[] = CONCURRENCY,
): Promise<Measurement[]> {
  const { sizes } = ctx;
  const rps: Record<number, Record<Side, number[]>> = {};
  const cpuPerCall: Record<Exclude<Side, 'direct'>, number[]> = {
    gateway: [],
    proxy: [],
    httpfn: [],
  };
  for (const c of concurrency) {
    rps[c] = { gateway: [], direct: [], proxy: [], httpfn: [] };
    const sides: Side[] = c === 32 ? SIDES : ['direct', 'gateway'];
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const side of order(sides, rep)) {
        progress(`warm throughput: ${c} connections, rep ${rep + 1}/${sizes.reps}, ${side}`);
        const r = await load(targets[side], c, {
          warmupSec: sizes.loadWarmupSec,
          sec: sizes.loadSec,
          maxRequests: 500_000,
        });
        rps[c]![side].push(r.rps);
        if (c === 32 && side !== 'direct') cpuPerCall[side].push((r.cpuMs! * 1000) / r.ok);
      }
    }
  }
  const out = concurrency.map((c) =>
    measurement({
      name: `warm throughput, ${c} connection${c > 1 ? 's' : ''}`,
      unit: 'req/s',
      value: spread(rps[c]!.gateway),
      reference: { name: DIRECT, value: spread(rps[c]!.direct) },
      ...(c === 32
        ? {
            target: {
              text: 'ratio >= 0.5',
              met: (_v: number, _r: number | null, ratio: number | null) => ratio! >= 0.5,
            },
          }
        : {}),
    }),
  );
  out.push(
    measurement({
      name: 'warm throughput, 32 connections, minimal node:http proxy',
      unit: 'req/s',
      value: spread(rps[32]!.proxy),
      reference: { name: DIRECT, value: spread(rps[32]!.direct) },
      note: 'not the gateway: the same hop with nothing else, the ceiling for a gateway written in Node',
    }),
    measurement({
      name: 'warm throughput, 32 connections, against the minimal proxy',
      unit: 'req/s',
      value: spread(rps[32]!.gateway),
      reference: { name: 'minimal node:http proxy, same run', value: spread(rps[32]!.proxy) },
      target: {
        text: 'ratio >= 0.9',
        met: (_v: number, _r: number | null, ratio: number | null) => ratio! >= 0.9,
      },
      note: 'the gateway as shipped (compiled, access log at info) against the ceiling',
    }),
    measurement({
      name: `warm throughput, 32 connections, ${HTTP_FN}`,
      unit: 'req/s',
      value: spread(rps[32]!.httpfn),
      reference: { name: 'POST /functions/noop/invoke', value: spread(rps[32]!.gateway) },
      note: 'the HTTP-function route (request event, answer read) against the JSON route, same gateway',
    }),
    measurement({
      name: `gateway CPU per warm call, 32 connections, ${HTTP_FN}`,
      unit: 'us',
      value: spread(cpuPerCall.httpfn),
      reference: { name: 'POST /functions/noop/invoke', value: spread(cpuPerCall.gateway) },
    }),
    measurement({
      name: 'gateway CPU per warm call, 32 connections',
      unit: 'us',
      value: spread(cpuPerCall.gateway),
      reference: { name: 'minimal node:http proxy', value: spread(cpuPerCall.proxy) },
      note: 'user + system CPU of the process, all threads, per successful call',
    }),
  );
  return out;
}

/**
 * Start the references, each with a container of its own (same function folder, same manifest, so
 * same resources and pool shape as the gateway's), warm all three up alike, run, and stop them.
 */
async function withSides(
  ctx: BenchContext,
  run: (sides: Sides) => Promise<Measurement[]>,
): Promise<Measurement[]> {
  const fnDir = await writeFunctionFolder(ctx.bench, WARM_FN, { pool: ONE_CONTAINER });
  progress(
    'warm: starting the direct reference and the minimal proxy, each with its own container',
  );
  const direct = await DirectContainer.start(ctx, fnDir);
  try {
    const proxy = await startProxy(ctx, fnDir);
    try {
      const host = '127.0.0.1';
      const targets: Record<Side, LoadTarget> = {
        gateway: {
          host,
          port: ctx.gateway.port,
          path: `/functions/${WARM_FN}/invoke`,
          body: '{}',
          pid: ctx.gateway.pid,
        },
        httpfn: {
          host,
          port: ctx.gateway.port,
          path: `/function/${WARM_FN}`,
          body: '{}',
          pid: ctx.gateway.pid,
        },
        // one fixed body, so one invocation id for every call, which the bootstrap does not mind
        direct: { agent: direct.agent, path: '/invoke', body: containerInvokeBody('bench-load') },
        proxy: { host, port: proxy.port, path: '/', body: '{}', pid: proxy.pid },
      };
      // The proxy and both new containers start cold: give every side's JIT the same before measuring.
      for (const side of SIDES) {
        progress(`warm: warming up ${side}`);
        await load(targets[side], 8, { warmupSec: 0, sec: 1, maxRequests: 100_000 });
      }
      return await run({ direct, proxy, targets });
    } finally {
      await proxy.stop();
    }
  } finally {
    await direct.stop();
  }
}

export const warm = (ctx: BenchContext): Promise<Measurement[]> =>
  withSides(ctx, async (sides) => [
    ...(await latency(ctx, sides)),
    ...(await throughput(ctx, sides)),
  ]);

/** `--only warm32`: the 32-connection throughput and CPU per call alone, for profiling and A/B runs. */
export const warm32 = (ctx: BenchContext): Promise<Measurement[]> =>
  withSides(ctx, (sides) => throughput(ctx, sides, [32]));
