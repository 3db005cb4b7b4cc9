// The API's view of a function folder (GET /functions, /functions/:name): what is deployed, its
// pool, its wait statistics and how its cold starts are served, or why it is invalid.
import type { FunctionInfo } from '../function-info.ts';
import type { PoolStats } from '../pool.ts';
import type { PoolSettings } from '../spec.ts';
import type { Entry } from './deployer.ts';

export function describe(e: Entry): FunctionInfo {
  const d = e.active;
  if (!d) {
    return {
      name: e.name,
      version: '',
      runtime: 'node',
      ...(e.isolation ? { isolation: e.isolation } : {}),
      status: 'invalid',
      error: e.invalid,
      triggers: [],
      pool: {
        min: 0,
        max: 0,
        concurrency: 0,
        idle_sec: 0,
        warm: 0,
        busy: 0,
        starting: 0,
        queued: 0,
      },
      stats: { invocations: 0, cold_starts: 0, wait_p50_ms: 0, wait_p99_ms: 0 },
      pool_overridden: false,
      cold_start: {
        path: 'container',
        reason: `not deployed: ${e.invalid}`,
        stem_cell: 0,
        container: 0,
      },
    };
  }
  const { spec } = d;
  const error = d.error;
  return {
    name: spec.name,
    version: spec.version,
    runtime: spec.runtime,
    isolation: spec.isolation,
    status: d.status,
    ...(error ? { error } : {}),
    ...(e.failedUpdate ? { update_failed: { ...e.failedUpdate } } : {}),
    triggers: spec.triggers.map((t) =>
      t.eventType === undefined ? { topic: t.topic } : { topic: t.topic, event_type: t.eventType },
    ),
    pool: poolView(d.pool.config, d.pool.stats()),
    stats: {
      invocations: d.waits.count,
      cold_starts: d.coldStarts,
      wait_p50_ms: round3(d.waits.quantile(0.5)),
      wait_p99_ms: round3(d.waits.quantile(0.99)),
    },
    pool_overridden: JSON.stringify(d.pool.config) !== JSON.stringify(spec.pool),
    cold_start: { ...d.paths.route, ...d.paths.byPath },
  };
}

function poolView(c: PoolSettings, s: PoolStats): FunctionInfo['pool'] {
  return {
    min: c.min,
    max: c.max,
    concurrency: c.concurrency,
    idle_sec: c.idleSec,
    warm: s.warm,
    busy: s.busy,
    starting: s.starting,
    queued: s.queued,
  };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
