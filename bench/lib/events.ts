// Scenario 4: events XADDed -> function invoked -> result on titan.results, against the same gateway's
// warm HTTP calls at 32 connections (measured in each repetition, just before its burst: throughput
// and CPU per call) and raw XADD + XREADGROUP + XACK.
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisOptionsFromUrl } from '../../gateway/events/redis.ts';
import type { BenchContext } from './context.ts';
import { EVENT_TOPIC } from './fixture.ts';
import { load } from './load.ts';
import { waitFor } from './gateway-api.ts';
import { withCpu } from './proc.ts';
import { progress } from './progress.ts';
import { measurement, type Measurement } from './record.ts';
import { percentile, spread } from './stats.ts';
import { WARM_FN } from './warm.ts';

const BATCH = 100;
const RAW_GROUP = 'bench-raw';

interface RunResult {
  /** events per second from the first XADD to the last arrival */
  rate: number;
  /** per event: arrival minus XADD sent, ms */
  latencies: number[];
  missing: number;
  duplicates: number;
  errors: number;
}

const connect = (url: string) =>
  new Redis({ ...redisOptionsFromUrl(url), maxRetriesPerRequest: null });

export async function redisVersion(url: string): Promise<string | null> {
  const r = connect(url);
  try {
    const info = await r.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? null;
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

/**
 * Append `count` events: all at once in pipelines of BATCH (rate undefined), or paced at `rate`/s.
 * Records when each was sent, by entry id.
 */
async function produce(
  redis: Redis,
  key: string,
  count: number,
  sent: Map<string, number>,
  rate?: number,
): Promise<void> {
  const t0 = performance.now();
  let i = 0;
  while (i < count) {
    const due =
      rate === undefined
        ? count
        : Math.min(count, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    if (due <= i) {
      await sleep(2);
      continue;
    }
    const n = Math.min(BATCH, due - i);
    const p = redis.pipeline();
    for (let k = 0; k < n; k++) p.xadd(key, '*', 'type', 'bench', 'data', `{"n":${i + k}}`);
    const t = performance.now();
    const res = (await p.exec()) ?? [];
    for (const [err, id] of res) {
      if (err) throw err;
      sent.set(id as string, t);
    }
    i += n;
  }
}

type Consumer = (
  seen: Map<string, number>,
  dup: () => void,
  err: () => void,
  done: () => boolean,
  until: number,
) => Promise<void>;

/** One run: produce and consume concurrently; bounded by `limitMs`. */
async function runOnce(
  redis: Redis,
  key: string,
  count: number,
  consume: Consumer,
  limitMs: number,
  rate?: number,
): Promise<RunResult> {
  const sent = new Map<string, number>();
  const seen = new Map<string, number>();
  let duplicates = 0;
  let errors = 0;
  const until = performance.now() + limitMs;
  const consuming = consume(
    seen,
    () => duplicates++,
    () => errors++,
    () => seen.size >= count,
    until,
  );
  await produce(redis, key, count, sent, rate);
  await consuming;
  const latencies: number[] = [];
  let last = 0;
  for (const [id, t] of sent) {
    const at = seen.get(id);
    if (at !== undefined) {
      latencies.push(at - t);
      last = Math.max(last, at);
    }
  }
  const first = Math.min(...sent.values());
  return {
    rate: (latencies.length / (last - first)) * 1000,
    latencies,
    missing: count - latencies.length,
    duplicates,
    errors,
  };
}

/** Reads titan.results from its current end: an entry per event invocation, with the event's id. */
function resultsConsumer(reader: Redis, resultsKey: string, from: string): Consumer {
  return async (seen, dup, err, done, until) => {
    let id = from;
    while (!done() && performance.now() < until) {
      const reply = (await reader.xread(
        'COUNT',
        1000,
        'BLOCK',
        200,
        'STREAMS',
        resultsKey,
        id,
      )) as Array<[string, Array<[string, string[]]>]> | null;
      const t = performance.now();
      for (const [, entries] of reply ?? []) {
        for (const [entryId, flat] of entries) {
          id = entryId;
          const f: Record<string, string> = {};
          for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
          if (f.outcome !== 'ok') err();
          if (seen.has(f.event_id!)) dup();
          else seen.set(f.event_id!, t);
        }
      }
    }
  };
}

/** The limit: read with a consumer group and acknowledge, nothing else. */
function rawConsumer(reader: Redis, cmd: Redis, key: string): Consumer {
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
      for (const id of ids) seen.set(id, t);
    }
  };
}

async function lastId(redis: Redis, key: string): Promise<string> {
  const [entry] = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
  return entry?.[0] ?? '0-0';
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
    // The router creates its group on the topic when it subscribes; events before that are not read.
    await waitFor(
      'the router subscribing to the topic',
      async () => {
        const groups = (await cmd.call('XINFO', 'GROUPS', topicKey).catch(() => [])) as unknown[][];
        return groups.length > 0;
      },
      30_000,
      50,
    );
    await cmd.call('XGROUP', 'CREATE', rawKey, RAW_GROUP, '$', 'MKSTREAM');

    const limit = (n: number, rate?: number) => 30_000 + (rate ? (n / rate) * 1000 : n); // generous: ~1k events/s floor
    const viaGateway = async (n: number, rate?: number) =>
      runOnce(
        cmd,
        topicKey,
        n,
        resultsConsumer(reader, resultsKey, await lastId(cmd, resultsKey)),
        limit(n, rate),
        rate,
      );
    const raw = (n: number, rate?: number) =>
      runOnce(cmd, rawKey, n, rawConsumer(reader, cmd, rawKey), limit(n, rate), rate);

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
      if (r.missing || r.duplicates || r.errors)
        problems.push(
          `${what}: ${r.missing} missing, ${r.duplicates} duplicates, ${r.errors} errors`,
        );
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
    };
    for (let rep = 0; rep < reps; rep++) {
      progress(`events: latency at ${pace}/s for ${paceSec} s, rep ${rep + 1}/${reps}, raw`);
      const r = await raw(paced, pace);
      progress(
        `events: latency at ${pace}/s for ${paceSec} s, rep ${rep + 1}/${reps}, through the gateway`,
      );
      const g = await viaGateway(paced, pace);
      check(`paced ${rep + 1}`, g);
      for (const [side, run] of [
        ['gateway', g],
        ['raw', r],
      ] as const) {
        lat[side].p50.push(percentile(run.latencies, 0.5));
        lat[side].p99.push(percentile(run.latencies, 0.99));
      }
    }
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
