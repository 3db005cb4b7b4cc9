// What the dashboard shows of a function's resolved manifest: its shape and limits. Not its env,
// config or paths: /stats is open like /functions, and those may hold what the author keeps private.
import type { FunctionSpec } from '../../runtime/spec.ts';

export function manifestOf(spec: FunctionSpec): Record<string, unknown> {
  return {
    version: spec.version,
    runtime: spec.runtime,
    handler: spec.handler,
    triggers: spec.triggers.map((t) => ({
      topic: t.topic,
      ...(t.eventType ? { event_type: t.eventType } : {}),
    })),
    timeout_ms: spec.timeoutMs,
    memory_mb: Math.round(spec.memoryBytes / 2 ** 20),
    cpu: spec.cpu,
    cpu_limit: spec.cpuLimit,
    pool: {
      min: spec.pool.min,
      max: spec.pool.max,
      concurrency: spec.pool.concurrency,
      idle_sec: spec.pool.idleSec,
    },
    ...(spec.maxAttempts !== undefined ? { max_attempts: spec.maxAttempts } : {}),
    auth: spec.auth,
    http_methods: spec.http?.methods ?? 'all',
    host_mounts: spec.fs.mounts.length,
  };
}
