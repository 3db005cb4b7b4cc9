// Scenario 6: gateway RSS idle and after N invocations, and one warm container's cgroup memory.
import Docker from 'dockerode';
import { engineOptionsFromHost } from '../../runtime/engine/locate.ts';
import type { BenchContext } from './context.ts';
import { containerOf } from './gateway-api.ts';
import type { MemoryFigures } from './gateway-child.ts';
import { load } from './load.ts';
import { progress } from './progress.ts';
import { measurement, type Measurement } from './record.ts';
import { spread } from './stats.ts';
import { WARM_FN } from './warm.ts';

const MiB = 1024 ** 2;

/**
 * Usage minus inactive file pages, as `docker stats` shows it (cgroup v1 and v2). The runtime's engine
 * interface has no stats call and the benchmark does not widen it for itself: dockerode, here only.
 */
export async function containerMemory(dockerHost: string, id: string): Promise<number> {
  const docker = new Docker(engineOptionsFromHost(dockerHost));
  const s = (await docker.getContainer(id).stats({ stream: false })) as {
    memory_stats: { usage?: number; stats?: Record<string, number> };
  };
  const { usage = 0, stats = {} } = s.memory_stats;
  return usage - (stats.total_inactive_file ?? stats.inactive_file ?? 0);
}

const FIGURES = ['heapUsed', 'heapTotal', 'newSpace', 'external', 'arrayBuffers'] as const;

/** Where the RSS is, idle and after: V8's heap (used, committed, its new space) and outside it. */
function breakdown(idle: MemoryFigures, after: MemoryFigures): string {
  const f = (x: number) => (x / MiB).toFixed(1);
  return FIGURES.map((k) => `${k} ${f(idle[k])} → ${f(after[k])}`).join(', ');
}

export async function memory(ctx: BenchContext): Promise<Measurement[]> {
  const n = ctx.sizes.memoryInvocations;
  const id = await containerOf(ctx, WARM_FN);
  const idle = await ctx.gateway.memory();
  const containerIdle = await containerMemory(ctx.dockerHost, id);
  // Bounded by count and by time; at 8 connections so it takes seconds, not minutes.
  const target = {
    host: '127.0.0.1',
    port: ctx.gateway.port,
    path: `/functions/${WARM_FN}/invoke`,
    body: '{}',
  };
  // RSS after each batch: growth that goes on batch after batch is a leak, one that levels off is
  // what the allocator and V8 keep once they grew (a high-water mark).
  const steps: string[] = [];
  let done = 0;
  while (done < n) {
    progress(`memory: ${done}/${n} invocations`);
    done += (
      await load(target, 8, { warmupSec: 0, sec: 10, maxRequests: Math.min(20_000, n - done) })
    ).calls;
    steps.push(
      `${Math.round(done / 1000)}k ${((await ctx.gateway.memory()).rss / MiB).toFixed(1)}`,
    );
  }
  const after = await ctx.gateway.memory();
  const containerAfter = await containerMemory(ctx.dockerHost, id);
  const mib = (x: number) => spread([x / MiB]);
  return [
    measurement({
      name: `gateway RSS after ${n} invocations`,
      unit: 'MiB',
      value: mib(after.rss),
      reference: { name: 'gateway RSS idle, after start', value: mib(idle.rss) },
      target: { text: 'ratio <= 1.3', met: (_v, _r, ratio) => ratio! <= 1.3 },
      note: `after a full GC, idle → after, MiB: ${breakdown(idle, after)}; RSS after each batch: ${steps.join(', ')}`,
    }),
    measurement({
      name: 'gateway RSS idle',
      unit: 'MiB',
      value: mib(idle.rss),
      target: { text: 'value <= 90 MiB', met: (v) => v <= 90 },
    }),
    measurement({
      name: `warm container memory after ${n} invocations`,
      unit: 'MiB',
      value: mib(containerAfter),
      reference: { name: 'the same container idle, warm', value: mib(containerIdle) },
    }),
  ];
}
