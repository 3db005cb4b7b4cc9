// Consumes one function's work queue (events fanned out by the router, async invocations) through
// the one invoke path: at most `cap` in flight, retries with exponential backoff, then the DLQ.
// A queue entry is acknowledged only once it succeeded or was dead-lettered.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '../../runtime/retry-timer.ts';
import type { RuntimeConfig } from '../../runtime/config.ts';
import { isTitanError, type ErrorCode } from '../../runtime/errors.ts';
import type { Invoke, Trigger } from '../invoke.ts';
import { fieldsToRecord, handlerEventJson } from './event.ts';
import type { Keys } from './keys.ts';
import { OutcomeWriter, type Job } from './outcomes.ts';
import type { Durability } from './replication.ts';
import { ensureGroup, isNoGroup, readGroup, readOwnPending, type Entry } from './streams.ts';
import { Reclaimer, runTurns } from './consumer-loop.ts';

/**
 * Failures a retry cannot change: the function is gone, the event is not JSON, the handler refused
 * it, or its answer was refused (emits to a reserved topic, too many emits): running it again would
 * repeat its side effects for the same refusal.
 */
const NOT_RETRIED = new Set<ErrorCode>([
  'not_found',
  'invalid_json',
  'function_rejected',
  'invalid_topic',
  'invalid_response',
]);

export interface WorkerDeps {
  fn: string;
  cmd: RedisClient;
  blocking: RedisClient;
  keys: Keys;
  cfg: RuntimeConfig['events'];
  consumer: string;
  invoke: Invoke;
  maxAttempts: () => number;
  durability: Durability;
  onOutcome?: (o: {
    fn: string;
    topic?: string;
    outcome: 'ok' | 'retry' | 'dead_lettered';
  }) => void;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

export class QueueWorker {
  private running = false;
  private loop?: Promise<void>;
  private readonly inflight = new Set<string>();
  private slotFreed?: () => void;
  private heartbeat?: NodeJS.Timeout;
  /** when set: an entry was left pending by a Redis error; take our own pending entries up again from then */
  private recoverAt = 0;
  /** results, DLQ entries and acknowledgements, written together per turn (outcomes.ts) */
  private readonly outcomes: OutcomeWriter;
  private readonly reclaimer: Reclaimer;

  constructor(private readonly deps: WorkerDeps) {
    this.reclaimer = new Reclaimer(deps.cmd, deps.cfg, deps.consumer);
    this.outcomes = new OutcomeWriter(deps.cmd, deps.keys, deps.cfg, deps.fn, deps.durability);
  }

  get key(): string {
    return this.deps.keys.queue(this.deps.fn);
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
    // Long invocations and backoffs keep their entries claimed, so no other gateway takes them over.
    this.heartbeat = setInterval(
      () => void this.touch(),
      (this.deps.cfg.reclaimIdleSec * 1000) / 3,
    );
    this.heartbeat.unref();
  }

  /** Stop reading; in-flight entries finish (or stay pending for another gateway to reclaim). */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.heartbeat);
    this.slotFreed?.();
    await this.loop;
  }

  private run(): Promise<void> {
    let grouped = false;
    return runTurns(
      () => this.running,
      async () => {
        if (!grouped) {
          await ensureGroup(this.deps.cmd, this.key, this.deps.cfg.group, '0'); // the queue is ours: all of it is work
          grouped = true;
        }
        await this.turn();
      },
      (err) => {
        if (isNoGroup(err)) grouped = false;
        else if (this.running)
          this.deps.log('event worker: redis error, retrying', {
            fn: this.deps.fn,
            err: (err as Error).message,
          });
      },
    );
  }

  private async turn(): Promise<void> {
    const free = this.deps.cfg.maxInflightPerFunction - this.inflight.size;
    if (free <= 0) {
      await new Promise<void>((r) => (this.slotFreed = r)); // backpressure: read nothing until a slot frees
      // Outcomes written together settle together: let all of them free their slots, then read as many.
      await new Promise((r) => setImmediate(r));
      return;
    }
    const now = Date.now();
    if (this.recoverAt && now >= this.recoverAt) {
      // Our in-flight entries are pending too: skip them, and take no more than the free slots.
      const own = (
        await readOwnPending(
          this.deps.cmd,
          this.deps.cfg.group,
          this.deps.consumer,
          this.key,
          this.inflight.size + free,
        )
      ).filter(([id]) => !this.inflight.has(id));
      this.recoverAt = own.length >= free ? now : 0; // maybe more: again on the next turn
      for (const e of own.slice(0, free)) this.dispatch(e, true);
      if (own.length) return;
    }
    if (this.reclaimer.due(now)) {
      const claimed = await this.reclaimer.claim(this.key, free);
      if (claimed.length)
        this.deps.log('event worker: reclaimed pending entries', {
          fn: this.deps.fn,
          count: claimed.length,
        });
      for (const e of claimed) this.dispatch(e, true);
      if (claimed.length) return;
    }
    const reply = await readGroup(
      this.deps.blocking,
      this.deps.cfg.group,
      this.deps.consumer,
      [this.key],
      free,
      this.deps.cfg.blockMs,
    );
    for (const [, entries] of reply ?? []) for (const e of entries) this.dispatch(e, false);
  }

  private dispatch([id, flat]: Entry, reclaimed: boolean): void {
    if (this.inflight.has(id)) return;
    this.inflight.add(id);
    void this.process(id, fieldsToRecord(flat), reclaimed)
      .catch((err) => {
        this.deps.log('event worker: entry left pending; retrying it shortly', {
          fn: this.deps.fn,
          id,
          err: (err as Error).message,
        });
        this.recoverAt = Math.max(this.recoverAt, Date.now() + 1000); // not at once: Redis is likely still away
      })
      .finally(() => {
        this.inflight.delete(id);
        this.slotFreed?.();
        this.slotFreed = undefined;
      });
  }

  private async process(id: string, job: Job, reclaimed: boolean): Promise<void> {
    const { cmd, keys, cfg } = this.deps;
    const attemptsKey = keys.attempts(this.deps.fn, id);
    let attempts = reclaimed ? Number((await cmd.get(attemptsKey)) ?? 0) : 0;
    // A counter exists only once an attempt failed here or elsewhere: a first attempt that succeeds has none to delete.
    const counted = () => (reclaimed || attempts > 1 ? attemptsKey : undefined);
    if (job.kind === 'async') {
      // With its TTL again: a call that waited longer than async_result_ttl_sec finds its record gone,
      // and HSET alone would recreate it without one.
      const record = keys.invocation(job.invocation_id!);
      await cmd
        .multi()
        .hset(record, 'status', 'running')
        .expire(record, cfg.asyncResultTtlSec)
        .exec();
    }
    for (;;) {
      attempts++;
      const started = performance.now();
      // Async calls keep the id the caller was given; each event attempt gets its own.
      const invocationId = job.kind === 'async' ? job.invocation_id! : randomUUID();
      try {
        const out = await this.deps.invoke({ ...this.request(job), invocationId });
        await this.outcomes.write({
          id,
          job,
          attemptsKey: counted(),
          outcome: 'ok',
          invocationId,
          body: out.resultJson,
          ms: performance.now() - started,
        });
        this.deps.onOutcome?.({ fn: this.deps.fn, topic: job.topic, outcome: 'ok' });
        return;
      } catch (err) {
        const error = JSON.stringify(
          isTitanError(err)
            ? { code: err.code, message: err.message }
            : { code: 'internal_error', message: String(err) },
        );
        if (
          attempts >= this.deps.maxAttempts() ||
          (isTitanError(err) && NOT_RETRIED.has(err.code))
        ) {
          await this.outcomes.write({
            id,
            job,
            attemptsKey: counted(),
            outcome: 'error',
            invocationId,
            body: error,
            ms: performance.now() - started,
            attempts,
          });
          this.deps.onOutcome?.({ fn: this.deps.fn, topic: job.topic, outcome: 'dead_lettered' });
          return;
        }
        // Removed when the entry is finished; the TTL covers an entry that never is (function removed).
        await cmd.set(attemptsKey, attempts, 'EX', cfg.attemptsTtlSec);
        this.deps.onOutcome?.({ fn: this.deps.fn, topic: job.topic, outcome: 'retry' });
        // The project's one backoff rule; attempts are bounded by max_attempts, so no cap here.
        await sleep(backoffMs(attempts - 1, this.deps.cfg.retryBaseMs, Number.POSITIVE_INFINITY));
      }
    }
  }

  private request(job: Job) {
    if (job.kind === 'async') {
      return {
        name: this.deps.fn,
        eventJson: job.payload ?? 'null',
        trigger: { kind: 'async' } as Trigger,
      };
    }
    const eventJson = handlerEventJson({
      id: job.event_id!,
      topic: job.topic!,
      type: job.type!,
      dataJson: job.data ?? 'null',
      source: job.source,
      time: job.time,
    });
    const trigger: Trigger = {
      kind: 'event',
      topic: job.topic!,
      eventType: job.type!,
      messageId: job.event_id!,
    };
    return { name: this.deps.fn, eventJson, trigger };
  }

  /** Reset the idle time of entries we are still working on (XCLAIM to ourselves, JUSTID). */
  private async touch(): Promise<void> {
    if (this.inflight.size === 0) return;
    await this.deps.cmd
      .call(
        'XCLAIM',
        this.key,
        this.deps.cfg.group,
        this.deps.consumer,
        0,
        ...this.inflight,
        'JUSTID',
      )
      .catch(() => {});
  }
}
