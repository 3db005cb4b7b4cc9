// An ordered, bounded queue of events waiting to be published: one publish at a time, retried with
// backoff while the event system is unavailable, so a Redis outage delays events instead of losing them.
import { setTimeout as sleep } from 'node:timers/promises';
import { TitanError } from '../../runtime/errors.ts';
import { backoffMs } from '../../runtime/retry-timer.ts';

/** EventSystem.publish's signature; unit tests pass a fake. */
export type PublishFn = (
  topic: string,
  type: string,
  dataJson: string,
  source?: string,
) => Promise<string>;

export interface QueuedEvent<T> {
  topic: string;
  type: string;
  dataJson: string;
  source: string;
  /** what the owner needs back once the event is published (for a file source: its path and state) */
  meta: T;
}

export interface PublishQueueOptions<T> {
  publish: PublishFn;
  /** called in order, after each successful publish */
  onPublished: (e: QueuedEvent<T>) => void;
  /** called when the queue has emptied (the owner may have work it deferred while it was full) */
  onDrained?: () => void;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** most events held; push() refuses beyond this. Default 10 000 */
  max?: number;
  /** first retry delay, doubled per failure. Default 200 ms */
  retryBaseMs?: number;
  /** longest retry delay. Default 5 000 ms */
  retryMaxMs?: number;
}

export type QueueState = 'idle' | 'publishing' | 'retrying' | 'failed' | 'closed';

/**
 * Only the event system's "not connected" is worth waiting for, plus anything that is not a
 * TitanError (ioredis rejects an in-flight command with a plain Error when the connection drops).
 * Other TitanErrors (an invalid or reserved topic) would fail the same way forever.
 */
const retryable = (err: unknown): boolean =>
  !(err instanceof TitanError) || err.code === 'events_unavailable';

export class PublishQueue<T> {
  private readonly items: QueuedEvent<T>[] = [];
  private pump?: Promise<void>;
  private running = false;
  private readonly stop = new AbortController();
  private _state: QueueState = 'idle';
  /** why publishing stopped, for status */
  error?: string;

  constructor(private readonly opts: PublishQueueOptions<T>) {}

  get state(): QueueState {
    return this._state;
  }

  get pending(): number {
    return this.items.length;
  }

  /** Append an event; false (and nothing queued) when the queue is full or closed. */
  push(e: QueuedEvent<T>): boolean {
    if (this._state === 'closed' || this.items.length >= (this.opts.max ?? 10_000)) return false;
    this.items.push(e);
    if (!this.running) {
      this.running = true;
      this.pump = this.run();
    }
    return true;
  }

  /** Remove queued events that are no longer wanted; the one being published (the head) stays. */
  drop(unwanted: (e: QueuedEvent<T>) => boolean): void {
    const busy = this._state === 'publishing' ? 1 : 0;
    const kept = this.items.filter((e, i) => i < busy || !unwanted(e));
    this.items.splice(0, this.items.length, ...kept);
  }

  private async run(): Promise<void> {
    // `running` is cleared synchronously after the loop's last check (no await in between), so an
    // event pushed at any later moment starts a new pump instead of landing on a finished one.
    try {
      const { retryBaseMs = 200, retryMaxMs = 5_000 } = this.opts;
      let failures = 0;
      let failingSince = 0;
      while (this.items.length > 0 && this._state !== 'closed' && this._state !== 'failed') {
        const head = this.items[0]!;
        this._state = 'publishing';
        try {
          await this.opts.publish(head.topic, head.type, head.dataJson, head.source);
        } catch (err) {
          if (this.stop.signal.aborted) break;
          const message = (err as Error).message;
          if (!retryable(err)) {
            this._state = 'failed';
            this.error = message;
            this.opts.log('file source stopped publishing: the event system refused an event', {
              topic: head.topic,
              err: message,
              pending: this.items.length,
            });
            return;
          }
          failures += 1;
          if (failures === 1) failingSince = Date.now();
          const delay = backoffMs(failures - 1, retryBaseMs, retryMaxMs);
          // One line when the outage starts, then one per ~10 failures: enough to see it persists.
          if (failures === 1 || failures % 10 === 0) {
            this.opts.log('publish failed; will retry', {
              topic: head.topic,
              err: message,
              attempt: failures,
              retryInMs: delay,
              pending: this.items.length,
            });
          }
          this._state = 'retrying';
          this.error = message;
          await sleep(delay, undefined, { signal: this.stop.signal }).catch(() => {});
          continue;
        }
        this.items.shift();
        if (failures > 0) {
          this.opts.log('publishing resumed', {
            topic: head.topic,
            attempts: failures + 1,
            outageMs: Date.now() - failingSince,
            pending: this.items.length,
          });
          failures = 0;
          this.error = undefined;
        }
        try {
          this.opts.onPublished(head);
        } catch (err) {
          // The event is out; a failing callback must not stop the ones behind it.
          this.opts.log('after-publish step failed', {
            topic: head.topic,
            err: (err as Error).message,
          });
        }
      }
    } finally {
      this.running = false;
    }
    if (this._state === 'publishing' || this._state === 'retrying') this._state = 'idle';
    if (this._state === 'idle' && this.items.length === 0) this.opts.onDrained?.();
  }

  /** Stop after the publish in flight, if any; queued events are left unpublished. Safe to call twice. */
  async close(): Promise<void> {
    this._state = 'closed';
    this.stop.abort();
    await this.pump;
  }
}
