// Prometheus metrics of one gateway, in a registry of its own (several gateways can share a process
// in tests). Names are part of the public contract: dashboards depend on them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FunctionInfo } from './registry.ts';
import type { PoolEvent } from './pool.ts';
import type { StemEvent } from './stem-cells/cold-start-route.ts';

export class Metrics {
  readonly registry = new Registry();
  readonly invocations = new Counter({
    name: 'titan_invocations_total',
    help: 'Invocations by function and outcome (ok or an error code)',
    labelNames: ['function', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'titan_invocation_duration_seconds',
    help: 'Gateway-side invocation duration, queue wait included',
    labelNames: ['function'] as const,
    buckets: [
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ],
    registers: [this.registry],
  });
  readonly coldStarts = new Counter({
    name: 'titan_cold_starts_total',
    help: 'Invocations that waited for a container started on demand',
    labelNames: ['function'] as const,
    registers: [this.registry],
  });
  readonly containerStarts = new Counter({
    name: 'titan_container_starts_total',
    help: 'Containers started, by reason (prewarm, demand, replace)',
    labelNames: ['function', 'reason'] as const,
    registers: [this.registry],
  });
  readonly containerStops = new Counter({
    name: 'titan_container_stops_total',
    help: 'Containers stopped, by reason (idle, scaled_down, timeout, crashed, exited)',
    labelNames: ['function', 'reason'] as const,
    registers: [this.registry],
  });
  readonly poolWait = new Histogram({
    name: 'titan_pool_wait_seconds',
    help: 'Time an invocation waited for a free container',
    labelNames: ['function'] as const,
    buckets: [0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly httpInvocations = new Counter({
    name: 'titan_http_invocations_total',
    help: 'Invocations through /function/<name>, by method and the status class of the answer (2xx ... 5xx)',
    labelNames: ['function', 'method', 'status_class'] as const,
    registers: [this.registry],
  });
  readonly containerStartFailures = new Counter({
    name: 'titan_container_start_failures_total',
    help: 'Containers that failed to become ready',
    labelNames: ['function'] as const,
    registers: [this.registry],
  });

  readonly coldStartsByPath = new Counter({
    name: 'titan_cold_starts_by_path_total',
    help: 'Cold calls by the path of the container that served them: stem_cell (a stem cell specialized) or container (a container started for the function)',
    labelNames: ['function', 'path'] as const,
    registers: [this.registry],
  });
  readonly specialization = new Histogram({
    name: 'titan_stem_cell_specialization_seconds',
    help: "Taking a stem cell to serving a function: its code, limits and handler load; outcome ok, failed (the function's start failed) or unusable (a container was started instead)",
    labelNames: ['runtime', 'outcome'] as const,
    buckets: [0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly stemCells = new Gauge({
    name: 'titan_stem_cells',
    help: 'Stem cells per runtime by state (ready, starting)',
    labelNames: ['runtime', 'state'] as const,
    registers: [this.registry],
  });

  constructor(functions: () => FunctionInfo[], { processMetrics = true } = {}) {
    const list = functions;
    new Gauge({
      name: 'titan_pool_containers',
      help: 'Containers per function by state (warm, busy, starting)',
      labelNames: ['function', 'state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const f of list()) {
          for (const state of ['warm', 'busy', 'starting'] as const)
            this.set({ function: f.name, state }, f.pool[state]);
        }
      },
    });
    new Gauge({
      name: 'titan_pool_queue_depth',
      help: 'Invocations waiting for a free container',
      labelNames: ['function'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const f of list()) this.set({ function: f.name }, f.pool.queued);
      },
    });
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  onPoolEvent = (fn: string, e: PoolEvent | StemEvent): void => {
    if (e.kind === 'started') this.containerStarts.inc({ function: fn, reason: e.reason });
    else if (e.kind === 'start_failed') this.containerStartFailures.inc({ function: fn });
    else if (e.kind === 'stopped') this.containerStops.inc({ function: fn, reason: e.why });
    else if (e.kind === 'cold_start') this.coldStartsByPath.inc({ function: fn, path: e.path });
    else if (e.kind === 'specialized')
      this.specialization.observe({ runtime: e.runtime, outcome: e.outcome }, e.ms / 1000);
    else if (e.kind === 'stem_cells') {
      this.stemCells.set({ runtime: e.runtime, state: 'ready' }, e.ready);
      this.stemCells.set({ runtime: e.runtime, state: 'starting' }, e.starting);
    }
  };
}
