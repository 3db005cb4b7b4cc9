// The shapes the dashboard reads from the API (see /openapi.json).

export interface Pool {
  min: number;
  max: number;
  concurrency: number;
  idle_sec: number;
  warm: number;
  busy: number;
  starting: number;
  queued: number;
}

export interface FunctionInfo {
  name: string;
  version: string;
  runtime: string;
  status: 'ready' | 'deploying' | 'invalid';
  error?: string;
  triggers: Array<{ topic: string; event_type?: string }>;
  pool: Pool;
  stats: { invocations: number; cold_starts: number; wait_p50_ms: number; wait_p99_ms: number };
  pool_overridden: boolean;
}

export interface Rates {
  at: number;
  window_ms: number;
  invocations_per_min: number;
  errors_per_min: number;
  cold_starts_per_min: number;
  p50_ms: number | null;
  p99_ms: number | null;
}

export interface FunctionStats {
  name: string;
  latest: Rates | null;
  series: Rates[];
  manifest: Record<string, unknown> | null;
}

export interface LogLine {
  time: number;
  stream: 'stdout' | 'stderr';
  invocationId?: string;
  container: string;
  text: string;
}

export interface EventsStats {
  state: string;
  topics: Array<{
    topic: string;
    functions: Array<{ function: string; event_type?: string }>;
    lag: number | null;
  }>;
  queues: Array<{ function: string; lag: number; pending: number }>;
}

export type DlqEntry = Record<string, string> & { id: string };
