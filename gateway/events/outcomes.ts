// Writes what became of queue entries: the result (titan.results, or an async call's record), the
// DLQ entry on failure, then XACK + XDEL of the entry and its attempts counter gone. Outcomes settled
// in the same turn of the event loop share one MULTI (all-or-nothing as before), and within it one
// XACK and one XDEL for all their entries: one write, one reply, and about one command per outcome.
import type { ChainableCommander, Redis } from 'ioredis';
import type { RuntimeConfig } from '../../runtime/config.ts';
import type { Keys } from './keys.ts';
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

export class OutcomeWriter {
  private pending: Array<{ o: Outcome; settle: Settle }> = [];

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly cfg: RuntimeConfig['events'],
    private readonly fn: string,
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
    const tx = this.redis.multi();
    // Each outcome's own commands, as a range of the EXEC results (which leave out the MULTI itself).
    const ranges = batch.map(({ o }) => {
      const from = tx.length - 1;
      this.record(tx, o);
      return [from, tx.length - 1] as const;
    });
    const queue = this.keys.queue(this.fn);
    const ids = batch.map(({ o }) => o.id);
    const shared = tx.length - 1;
    tx.xack(queue, this.cfg.group, ...ids);
    tx.xdel(queue, ...ids);
    const counters = batch.flatMap(({ o }) => (o.attemptsKey ? [o.attemptsKey] : []));
    if (counters.length) tx.del(...counters);
    tx.exec().then(
      (results) => {
        const sharedFailed = results?.slice(shared).find(([e]) => e)?.[0];
        for (const [i, { settle }] of batch.entries()) {
          settle(
            sharedFailed ??
              (results
                ? results.slice(ranges[i]![0], ranges[i]![1]).find(([e]) => e)?.[0]
                : new Error('transaction discarded')),
          );
        }
      },
      (err: unknown) => {
        for (const { settle } of batch) settle(err);
      },
    );
  }

  private record(tx: ChainableCommander, o: Outcome): void {
    const { keys, cfg } = this;
    if (o.job.kind === 'async') {
      const key = keys.invocation(o.job.invocation_id!);
      tx.hset(
        key,
        o.outcome === 'ok'
          ? { status: 'succeeded', result: o.body }
          : { status: 'failed', error: o.body, attempts: String(o.attempts) },
      );
      tx.hset(key, 'finished_at', new Date().toISOString(), 'duration_ms', o.ms.toFixed(3));
      tx.expire(key, cfg.asyncResultTtlSec);
    } else {
      tx.xadd(
        keys.results,
        'MAXLEN',
        '~',
        cfg.resultsMaxlen,
        '*',
        ...flatten({
          function: this.fn,
          topic: o.job.topic,
          event_id: o.job.event_id,
          invocation_id: o.invocationId,
          outcome: o.outcome,
          [o.outcome === 'ok' ? 'result' : 'error']: o.body,
          duration_ms: o.ms.toFixed(3),
        }),
      );
    }
    if (o.outcome === 'error') {
      const { kind: _k, ...original } = o.job;
      tx.xadd(
        keys.dlq,
        'MAXLEN',
        '~',
        cfg.dlqMaxlen,
        '*',
        ...flatten({
          ...original,
          kind: o.job.kind,
          function: this.fn,
          error: o.body,
          attempts: String(o.attempts),
        }),
      );
    }
  }
}
