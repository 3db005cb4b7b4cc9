// Scenario 4: events XADDed -> function invoked -> result on titan.results, against the same gateway's
// warm HTTP calls at 32 connections (measured in each repetition, just before its burst: throughput
// and CPU per call) and raw XADD + XREADGROUP + XACK.
import { Redis } from 'ioredis';
import { redisOptionsFromUrl, type RedisClient } from '../../gateway/events/redis.ts';
import type { BenchContext } from './context.ts';
import {
  BATCH,
  connect,
  deliveryProblem,
  runLimitMs,
  runOnce,
  viaGateways,
  waitSubscribed,
  type Consumer,
  type RunResult,
} from './event-burst.ts';
import { EVENT_TOPIC } from './fixture.ts';
import { KeepAliveClient } from './http-client.ts';
import { load } from './load.ts';
import { withCpu } from './proc.ts';
import { progress } from './progress.ts';
import { measurement, type Measurement } from './record.ts';
import { percentile, spread } from './stats.ts';
import { WARM_FN } from './warm.ts';

const RAW_GROUP = 'bench-raw';

export async function redisVersion(url: string): Promise<string | null> {
  const r = new Redis({ ...redisOptionsFromUrl(url), maxRetriesPerRequest: null });
  try {
    const info = await r.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? null;
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

/** The limit: read with a consumer group and acknowledge, nothing else. */
function rawConsumer(reader: RedisClient, cmd: RedisClient, key: string): Consumer {
  return async (seen, _dup, _err, done, until) => {
    while (!done() && performance.now() < until) {
      const reply = (await reader.xreadgroup(
        'GROUP',
        RAW_GROUP,
        'c1',
        'COUNT',
        BATCH,
        'BLOCK',
        200,
        'STREAMS',
        key,
        '>',
      )) as Array<[string, Array<[string, string[]]>]> | null;
      const ids = (reply ?? []).flatMap(([, entries]) => entries.map(([id]) => id));
      if (ids.length === 0) continue;
      await cmd.xack(key, RAW_GROUP, ...ids);
      const t = performance.now();
      for (const id of ids) seen.set(`${key} ${id}`, t);
    }
  };
}

/** A burst gives sustained events/s; a paced run well under capacity gives end-to-end latency. */
export async function events(ctx: BenchContext): Promise<Measurement[]> {
  const url = ctx.gateway.redisUrl;
  if (!url)
    throw new Error(
      `the gateway has no Redis (triggers ${ctx.gateway.triggers}); set REDIS_URL or install redis-server`,
    );
  const { count, warmup, reps, paceSec } = ctx.sizes.events;
  const prefix = ctx.bench.keyPrefix;
  const topicKey = prefix + EVENT_TOPIC;
  const resultsKey = prefix + ctx.bench.config.events.resultsStream;
  const rawKey = `${prefix}bench.raw`;
  const cmd = connect(url);
  const reader = connect(url);
  try {
    await waitSubscribed(cmd, [topicKey]);
    await cmd.call('XGROUP', 'CREATE', rawKey, RAW_GROUP, '$', 'MKSTREAM');

    const pipeline = { prefix, topics: [EVENT_TOPIC], resultsKey };
    const viaGateway = (n: number, rate?: number) => viaGateways(cmd, reader, pipeline, n, rate);
    const raw = (n: number, rate?: number) =>
      runOnce(cmd, [rawKey], n, rawConsumer(reader, cmd, rawKey), runLimitMs(n, rate), rate);

    const http = {
      host: '127.0.0.1',
      port: ctx.gateway.port,
      path: `/functions/${WARM_FN}/invoke`,
      body: '{}',
      pid: ctx.gateway.pid,
    };
    const httpRate: number[] = [];
    const httpCpu: number[] = [];
    const gwRate: number[] = [];
    const rawRate: number[] = [];
    const gwCpu: number[] = [];
    const problems: string[] = [];
    const check = (what: string, r: RunResult) => {
      const problem = deliveryProblem(what, r);
      if (problem) problems.push(problem);
    };
    for (let rep = 0; rep < reps; rep++) {
      progress(`events: warm HTTP calls at 32 connections, rep ${rep + 1}/${reps}`);
      const h = await load(http, 32, {
        warmupSec: ctx.sizes.loadWarmupSec,
        sec: ctx.sizes.loadSec,
        maxRequests: 500_000,
      });
      httpRate.push(h.rps);
      httpCpu.push((h.cpuMs! * 1000) / h.ok);
      progress(`events: burst of ${count}, rep ${rep + 1}/${reps}, warm-up`);
      check('warm-up', await viaGateway(warmup));
      await raw(warmup);
      progress(`events: burst of ${count}, rep ${rep + 1}/${reps}, raw`);
      const r = await raw(count);
      rawRate.push(r.rate);
      progress(`events: burst of ${count}, rep ${rep + 1}/${reps}, through the gateway`);
      const { result: g, cpuMs } = await withCpu(ctx.gateway.pid, () => viaGateway(count));
      check(`burst ${rep + 1}`, g);
      gwRate.push(g.rate);
      gwCpu.push((cpuMs * 1000) / count);
    }
    // Latency at a steady rate well under capacity: a quarter of what the gateway sustained.
    const pace = Math.max(50, Math.floor(spread(gwRate).median / 4));
    const paced = Math.round(pace * paceSec);
    const lat = {
      gateway: { p50: [] as number[], p99: [] as number[] },
      raw: { p50: [] as number[], p99: [] as number[] },
      http: { p50: [] as number[], p99: [] as number[] },
    };
    // The invocation at the same pace, over HTTP: the processes idle between calls as between events,
    // and waking them is part of every hop (the closed-loop warm rows never let them sleep).
    const client = new KeepAliveClient({ host: http.host, port: http.port, path: http.path });
    for (let rep = 0; rep < reps; rep++) {
      progress(`events: latency at ${pace}/s for ${paceSec} s, rep ${rep + 1}/${reps}, raw`);
      const r = await raw(paced, pace);
      progress(
        `events: latency at ${pace}/s for ${paceSec} s, rep ${rep + 1}/${reps}, through the gateway`,
      );
      const g = await viaGateway(paced, pace);
      check(`paced ${rep + 1}`, g);
      progress(`events: warm HTTP calls at ${pace}/s for ${paceSec} s, rep ${rep + 1}/${reps}`);
      const h = await client.latencies(paced, runLimitMs(paced, pace), () => http.body, pace);
      for (const [side, latencies] of [
        ['gateway', g.latencies],
        ['raw', r.latencies],
        ['http', h],
      ] as const) {
        lat[side].p50.push(percentile(latencies, 0.5));
        lat[side].p99.push(percentile(latencies, 0.99));
      }
    }
    client.close();
    if (problems.length)
      ctx.notes.push(`events: at-least-once check failed: ${problems.join('; ')}`);
    const raw_ = 'raw XADD + XREADGROUP + XACK';
    const delivery = problems.length
      ? 'delivery problems, see notes'
      : 'every event delivered exactly once, outcome ok';
    const httpRef = 'warm HTTP calls, 32 connections, same run';
    return [
      measurement({
        name: `event pipeline throughput (burst of ${count})`,
        unit: 'events/s',
        value: spread(gwRate),
        reference: { name: httpRef, value: spread(httpRate) },
        target: { text: 'ratio >= 0.8', met: (_v, _r, ratio) => ratio! >= 0.8 },
        note: delivery,
      }),
      measurement({
        name: `raw XADD + XREADGROUP + XACK (burst of ${count})`,
        unit: 'events/s',
        value: spread(rawRate),
        note: 'not the gateway: the Redis round trips alone, the ceiling for any consumer of this Redis',
      }),
      measurement({
        name: 'gateway CPU per event (burst)',
        unit: 'us',
        value: spread(gwCpu),
        reference: {
          name: 'gateway CPU per warm HTTP call, 32 connections, same run',
          value: spread(httpCpu),
        },
        target: { text: 'ratio <= 1.5', met: (_v, _r, ratio) => ratio! <= 1.5 },
        note: 'user + system CPU of the gateway process, all threads: router, queue worker, invocation',
      }),
      measurement({
        name: `event latency p50 (${pace} events/s, a quarter of the burst throughput)`,
        unit: 'ms',
        value: spread(lat.gateway.p50),
        reference: { name: raw_, value: spread(lat.raw.p50) },
        target: { text: 'value <= 1 ms', met: (v) => v <= 1 },
      }),
      measurement({
        name: `event latency p50 against a warm HTTP call at the same pace`,
        unit: 'ms',
        value: spread(lat.gateway.p50),
        reference: {
          name: `POST /functions/${WARM_FN}/invoke, one connection, ${pace} calls/s`,
          value: spread(lat.http.p50),
        },
        note: 'the same invocation over HTTP, as paced as the events: what the event path adds to a call',
      }),
      measurement({
        name: `warm HTTP call latency p99 at ${pace} calls/s`,
        unit: 'ms',
        value: spread(lat.http.p99),
      }),
      measurement({
        name: `event latency p99 (${pace} events/s)`,
        unit: 'ms',
        value: spread(lat.gateway.p99),
        reference: { name: raw_, value: spread(lat.raw.p99) },
      }),
    ];
  } finally {
    cmd.disconnect();
    reader.disconnect();
  }
}
