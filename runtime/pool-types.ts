// The pool's vocabulary: what it pools (a PoolWorker), how it is built (PoolOptions), what it tells
// (PoolEvent, PoolStats) and what it hands out (Lease); Slot and Waiter are its own bookkeeping.
import type { PoolSettings } from './spec.ts';

export interface PoolWorker {
  readonly id: string;
  /** settles when the worker dies on its own; the pool replaces it */
  readonly exited: Promise<unknown>;
  stop(): Promise<void>;
}

export type StartReason = 'prewarm' | 'demand' | 'replace';

export interface PoolOptions<W extends PoolWorker> {
  name: string;
  settings: PoolSettings;
  queueMax: number;
  queueTimeoutMs: number;
  start: (reason: StartReason) => Promise<W>;
  /** told about every container start and stop, for metrics and logs */
  onEvent?: (e: PoolEvent) => void;
  now?: () => number;
  /** base delay before retrying a failed prewarm; doubles up to 30 s */
  retryBaseMs?: number;
}

export type PoolEvent =
  | { kind: 'started'; reason: StartReason; ms: number }
  | { kind: 'start_failed'; reason: StartReason; error: Error }
  | { kind: 'stopped'; why: string };

export interface Lease<W> {
  worker: W;
  /** served by a container started on demand for waiting work, on its first invocation */
  cold: boolean;
  waitMs: number;
}

export interface Slot<W> {
  worker: W;
  inflight: number;
  served: number;
  lastUsed: number;
  reason: StartReason;
}

export interface Waiter<W> {
  resolve: (lease: Lease<W>) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  since: number;
}

export type PoolState = 'open' | 'draining' | 'closed';

export interface PoolStats {
  warm: number;
  busy: number;
  starting: number;
  queued: number;
  inflight: number;
}
