// Scenario 1: warm no-op call through the gateway vs straight to the container socket (and a minimal proxy).
import type { BenchContext } from './context.ts';
import { containerInvokeBody, containerSocket } from './gateway-api.ts';
import { KeepAliveClient } from './http-client.ts';
import { load, type LoadTarget } from './load.ts';
import { withCpu } from './proc.ts';
import { progress } from './progress.ts';
import { startProxy, type MinimalProxy } from './proxy.ts';
import { measurement, type Measurement } from './record.ts';
import { percentile, spread } from './stats.ts';

export const WARM_FN = 'noop';
const CONCURRENCY = [1, 8, 32] as const;
const DIRECT = 'direct to the container socket';

type Side = 'gateway' | 'direct' | 'proxy';

// Alternate which side goes first, so a drift in the machine's load does not favour one of them.
const order = <T>(sides: T[], rep: number): T[] => (rep % 2 === 0 ? sides : [...sides].reverse());

async function latency(ctx: BenchContext, socketPath: string, proxyPort: number): Promise<Measurement[]> {
  const { sizes } = ctx;
  let n = 0;
  const clients = {
    gateway: { client: new KeepAliveClient({ host: '127.0.0.1', port: ctx.gateway.port, path: `/functions/${WARM_FN}/invoke` }), body: () => '{}' },
    direct: { client: new KeepAliveClient({ socketPath, path: '/invoke' }), body: () => containerInvokeBody(`bench-${++n}`) },
    proxy: { client: new KeepAliveClient({ host: '127.0.0.1', port: proxyPort, path: '/' }), body: () => '{}' },
  };
  const p50: Record<Side, number[]> = { gateway: [], direct: [], proxy: [] };
  const p99: Record<Side, number[]> = { gateway: [], direct: [], proxy: [] };
  try {
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const side of order<Side>(['direct', 'gateway', 'proxy'], rep)) {
        progress(`warm latency: rep ${rep + 1}/${sizes.reps}, ${side}`);
        const { client, body } = clients[side];
        await client.latencies(rep === 0 ? 3 * sizes.latencyWarmup : sizes.latencyWarmup, 30_000, body);
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
    measurement({ name: 'warm p99 latency, 1 client', unit: 'ms', value: spread(p99.gateway), reference: { name: DIRECT, value: spread(p99.direct) } }),
    measurement({
      name: 'warm p50 latency, 1 client, minimal node:http proxy',
      unit: 'ms',
      value: spread(p50.proxy),
      reference: { name: DIRECT, value: spread(p50.direct) },
      note: 'not the gateway: the same hop with nothing else, the floor for a gateway written in Node',
    }),
  ];
}

async function throughput(ctx: BenchContext, socketPath: string, proxy: MinimalProxy, concurrency: readonly number[] = CONCURRENCY): Promise<Measurement[]> {
  const { sizes } = ctx;
  const targets: Record<Side, LoadTarget & { pid?: number }> = {
    gateway: { url: `${ctx.gateway.url}/functions/${WARM_FN}/invoke`, body: '{}', pid: ctx.gateway.pid },
    // autocannon sends one fixed body: one invocation id for all, which the bootstrap does not mind
    direct: { url: 'http://localhost/invoke', socketPath, body: containerInvokeBody('bench-load') },
    proxy: { url: `http://127.0.0.1:${proxy.port}/`, body: '{}', pid: proxy.pid },
  };
  const rps: Record<number, Record<Side, number[]>> = {};
  const cpuPerCall: Record<'gateway' | 'proxy', number[]> = { gateway: [], proxy: [] };
  for (const c of concurrency) {
    rps[c] = { gateway: [], direct: [], proxy: [] };
    const sides: Side[] = c === 32 ? ['direct', 'gateway', 'proxy'] : ['direct', 'gateway'];
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const side of order(sides, rep)) {
        progress(`warm throughput: ${c} connections, rep ${rep + 1}/${sizes.reps}, ${side}`);
        const t = targets[side];
        await load(t, c, sizes.loadWarmupSec, 200_000);
        const { result, cpuMs } = await withCpu(t.pid ?? process.pid, () => load(t, c, sizes.loadSec, 500_000));
        rps[c]![side].push(result.rps);
        if (c === 32 && (side === 'gateway' || side === 'proxy')) cpuPerCall[side].push((cpuMs * 1000) / result.ok);
      }
    }
  }
  const out = concurrency.map((c) =>
    measurement({
      name: `warm throughput, ${c} connection${c > 1 ? 's' : ''}`,
      unit: 'req/s',
      value: spread(rps[c]!.gateway),
      reference: { name: DIRECT, value: spread(rps[c]!.direct) },
      ...(c === 32 ? { target: { text: 'ratio >= 0.5', met: (_v: number, _r: number | null, ratio: number | null) => ratio! >= 0.5 } } : {}),
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
      name: 'gateway CPU per warm call, 32 connections',
      unit: 'us',
      value: spread(cpuPerCall.gateway),
      reference: { name: 'minimal node:http proxy', value: spread(cpuPerCall.proxy) },
      note: 'user + system CPU of the process, all threads, per successful call',
    }),
  );
  return out;
}

async function withProxy(ctx: BenchContext, run: (socketPath: string, proxy: MinimalProxy) => Promise<Measurement[]>): Promise<Measurement[]> {
  const { socketPath } = await containerSocket(ctx, WARM_FN);
  const proxy = await startProxy(socketPath);
  try {
    // The proxy starts cold: give its JIT what the gateway had before it is measured.
    progress('warm: warming up the minimal proxy');
    await load({ url: `http://127.0.0.1:${proxy.port}/`, body: '{}' }, 8, 1, 100_000);
    return await run(socketPath, proxy);
  } finally {
    await proxy.stop();
  }
}

export const warm = (ctx: BenchContext): Promise<Measurement[]> =>
  withProxy(ctx, async (socketPath, proxy) => [...(await latency(ctx, socketPath, proxy.port)), ...(await throughput(ctx, socketPath, proxy))]);

/** `--only warm32`: the 32-connection throughput and CPU per call alone, for profiling and A/B runs. */
export const warm32 = (ctx: BenchContext): Promise<Measurement[]> =>
  withProxy(ctx, async (socketPath, proxy) => {
    // Without the latency part before it, the gateway gets the same JIT warm-up as the proxy.
    progress('warm32: warming up the gateway');
    await load({ url: `${ctx.gateway.url}/functions/${WARM_FN}/invoke`, body: '{}' }, 8, 1, 100_000);
    return throughput(ctx, socketPath, proxy, [32]);
  });
