// What every scenario is given: gateway under test, bench directory, engine, sizes, shared facts.
import type { DockerEngine } from '../../runtime/engine/docker-engine.ts';
import type { BenchDir } from './fixture.ts';
import type { GatewayProcess } from './gateway-process.ts';
import type { Measurement } from './record.ts';

export interface Sizes {
  /** repetitions of each latency and throughput measurement */
  reps: number;
  /** sequential calls before each latency measurement, three times as many before the first one:
   * the gateway takes a few thousand one-client calls to reach its steady figure, even after load */
  latencyWarmup: number;
  latencyCount: number;
  loadWarmupSec: number;
  loadSec: number;
  coldReps: number;
  dockerRunReps: number;
  deployReps: number;
  events: { count: number; warmup: number; reps: number; paceSec: number };
  /** the events-cluster row: one burst size for every phase (1 gateway, 2, single node) */
  eventsCluster: { count: number; warmup: number; reps: number };
  memoryInvocations: number;
}

/** Under a minute on 2 busy cores: one repetition each, short runs. */
export const QUICK: Sizes = {
  reps: 1,
  latencyWarmup: 500,
  latencyCount: 1000,
  loadWarmupSec: 0.3,
  loadSec: 0.7,
  coldReps: 1,
  dockerRunReps: 1,
  deployReps: 1,
  events: { count: 2000, warmup: 200, reps: 1, paceSec: 1 },
  eventsCluster: { count: 2000, warmup: 200, reps: 1 },
  memoryInvocations: 3000,
};

export const FULL: Sizes = {
  reps: 5,
  latencyWarmup: 1000,
  latencyCount: 5000,
  loadWarmupSec: 1,
  loadSec: 2,
  coldReps: 5,
  dockerRunReps: 5,
  deployReps: 5,
  events: { count: 20_000, warmup: 1000, reps: 3, paceSec: 3 },
  eventsCluster: { count: 2000, warmup: 200, reps: 3 },
  memoryInvocations: 100_000,
};

export interface BenchContext {
  bench: BenchDir;
  gateway: GatewayProcess;
  engine: DockerEngine;
  dockerHost: string;
  sizes: Sizes;
  /** label value on every container the benchmark starts itself, removed at the end */
  runId: string;
  facts: {
    /** raw create + start + ready through the engine, median ms (cold-start scenario) */
    rawStartMs?: number;
  };
  notes: string[];
}

export interface Scenario {
  name: string;
  run(ctx: BenchContext): Promise<Measurement[]>;
  /** runs only when named in `--only` (a part of another scenario, for profiling and A/B runs) */
  onlyWhenNamed?: boolean;
}
