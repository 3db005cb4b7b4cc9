// Writes what became of queue entries: the result (titan.results, or an async call's record), the
// DLQ entry on failure, then XACK + XDEL of the entry and its attempts counter gone. Outcomes settled
// in the same turn of the event loop share one MULTI (all-or-nothing as before), and within it one
// XACK and one XDEL for all their entries: one write, one reply, and about one command per outcome.
// On a Redis Cluster the results, DLQ and async records are in other slots than the queue: there
// the writes go first, per key, each waiting for a replica (replication.ts), and the MULTI that
// acknowledges (queue and attempts counters share the function's hash tag) last. A crash between
// the two leaves the entries pending: reclaimed and run again, so a result or DLQ record may appear
// twice, never an acknowledged entry without its outcome.
import type { ChainableCommander } from 'ioredis';
import type { RuntimeConfig } from '../../runtime/config.ts';
import type { Keys } from './keys.ts';
import { isCluster, type RedisClient } from './redis.ts';
import { durably, type Durability } from './replication.ts';
import { flatten } from './streams.ts';

export type Job = Record<string, string>;

export interface Outcome {
  /** the queue entry */
  id: string;
  job: Job;
  /** set when an attempts counter may exist for the entry (a retry, or a reclaimed entry): deleted */
  attemptsKey?: string;
  outcome: 'ok' | 'error';
  invocationId: string;
  /** the result JSON, or the error JSON */
  body: string;
  ms: number;
  attempts?: number;
}

type Settle = (failed: unknown) => void;

/** Commands on one key; on one node they all join the batch's MULTI. */
type Write = { key: string; add: (tx: ChainableCommander) => void };

export class OutcomeWriter {
  private pending: Array<{ o: Outcome; settle: Settle }> = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly cfg: RuntimeConfig['events'],
    private readonly fn: string,
    private readonly durability: Durability = { replicated: false, waitMs: 0 },
  ) {}

  /** Resolves once the outcome is written and the entry acknowledged; rejects if any of it failed. */
  write(o: Outcome): Promise<void> {
    // Sent from the next check phase: everything settled in this turn goes with it.
    if (this.pending.length === 0) setImmediate(() => this.flush());
    return new Promise((resolve, reject) =>
      this.pending.push({ o, settle: (failed) => (failed ? reject(failed) : resolve()) }),
    );
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    const settleAll = (err: unknown) => {
      for (const { settle } of batch) settle(err);
    };
    if (isCluster(this.redis)) {
      this.writeThenAck(batch).then(() => settleAll(undefined), settleAll);
      return;
    }
    const tx = this.redis.multi();
    // Each outcome's own commands, as a range of the EXEC results (which leave out the MULTI itself).
    const ranges = batch.map(({ o }) => {
      const from = tx.length - 1;
      for (const w of this.record(o)) w.add(tx);
      return [from, tx.length - 1] as const;
    });
    const shared = tx.length - 1;
    this.ack(tx, batch);
    tx.exec().then((results) => {
      const sharedFailed = results?.slice(shared).find(([e]) => e)?.[0];
      for (const [i, { settle }] of batch.entries()) {
        settle(
          sharedFailed ??
            (results
              ? results.slice(ranges[i]![0], ranges[i]![1]).find(([e]) => e)?.[0]
              : new Error('transaction discarded')),
        );
      }
    }, settleAll);
  }

  /** XACK + XDEL of the entries, their attempts counters deleted: all in the function's slot. */
  private ack(tx: ChainableCommander, batch: Array<{ o: Outcome }>): void {
    const queue = this.keys.queue(this.fn);
    const ids = batch.map(({ o }) => o.id);
    tx.xack(queue, this.cfg.group, ...ids);
    tx.xdel(queue, ...ids);
    const counters = batch.flatMap(({ o }) => (o.attemptsKey ? [o.attemptsKey] : []));
    if (counters.length) tx.del(...counters);
  }

  /** The cluster's order: every outcome durably written, per key, then the acknowledgement. */
  private async writeThenAck(batch: Array<{ o: Outcome }>): Promise<void> {
    const byKey = new Map<string, Write[]>();
    for (const { o } of batch)
      for (const w of this.record(o)) byKey.set(w.key, [...(byKey.get(w.key) ?? []), w]);
    await Promise.all(
      [...byKey.values()].map((ws) =>
        durably(this.redis, this.durability, (p) => {
          for (const w of ws) w.add(p);
        }),
      ),
    );
    await durably(this.redis, { replicated: false, waitMs: 0 }, (tx) => this.ack(tx, batch), true);
  }

  private record(o: Outcome): Write[] {
    const { keys, cfg } = this;
    const out: Write[] = [];
    if (o.job.kind === 'async') {
      const key = keys.invocation(o.job.invocation_id!);
      out.push({
        key,
        add: (tx) => {
          tx.hset(
            key,
            o.outcome === 'ok'
              ? { status: 'succeeded', result: o.body }
              : { status: 'failed', error: o.body, attempts: String(o.attempts) },
          );
          tx.hset(key, 'finished_at', new Date().toISOString(), 'duration_ms', o.ms.toFixed(3));
          tx.expire(key, cfg.async_result_ttl_sec);
        },
      });
    } else {
      const fields = flatten({
        function: this.fn,
        topic: o.job.topic,
        event_id: o.job.event_id,
        invocation_id: o.invocationId,
        outcome: o.outcome,
        [o.outcome === 'ok' ? 'result' : 'error']: o.body,
        duration_ms: o.ms.toFixed(3),
      });
      out.push({
        key: keys.results,
        add: (tx) => tx.xadd(keys.results, 'MAXLEN', '~', cfg.results_maxlen, '*', ...fields),
      });
    }
    if (o.outcome === 'error') {
      const { kind: _k, ...original } = o.job;
      const fields = flatten({
        ...original,
        kind: o.job.kind,
        function: this.fn,
        error: o.body,
        attempts: String(o.attempts),
      });
      out.push({
        key: keys.dlq,
        add: (tx) => tx.xadd(keys.dlq, 'MAXLEN', '~', cfg.dlq_maxlen, '*', ...fields),
      });
    }
    return out;
  }
}
