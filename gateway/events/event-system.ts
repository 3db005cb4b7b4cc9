// The event side of the gateway: one Redis connection for commands, a router reading the topics,
// a queue worker per deployed function, and the publish / async / DLQ operations the routes use.
// Without Redis it stays `disabled` and says why; HTTP invocation never depends on it.
import { hostname } from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TOPIC_PATTERN, type RuntimeConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';
import type { Registry } from '../../runtime/registry.ts';
import type { Invoke } from '../invoke.ts';
import { enqueueWithinBacklog } from './async-queue.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.ts';
import { fieldsToRecord } from './event.ts';
import { Keys } from './keys.ts';
import { connectRedis, redactUrl } from './redis.ts';
import { Router } from './router.ts';
import { validateEmits, validateTopic } from './publish-rules.ts';
import { flatten } from './streams.ts';
import { readTail, type StreamEntry } from './stream-tail.ts';
import { QueueWorker } from './worker.ts';
import { EventMetrics } from './metrics.ts';
import type { Registry as PromRegistry } from 'prom-client';

export type TriggerState = 'disabled' | 'connecting' | 'subscribed' | 'disconnected';

export interface EventSystemOptions {
  config: RuntimeConfig;
  registry: Registry;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** the gateway's Prometheus registry; event metrics register there */
  promRegistry?: PromRegistry;
  /** wins over REDIS_URL and the config (tests) */
  redisUrl?: string;
  env?: NodeJS.ProcessEnv;
}

// Defined beside the config schema, which validates source topics with it; re-exported for callers here.
export { TOPIC_PATTERN, validateTopic };

export class EventSystem {
  private cmd?: Redis;
  private readonly blocking: Redis[] = [];
  private router?: Router;
  private readonly workers = new Map<string, QueueWorker>();
  private embedded?: EmbeddedRedis;
  private url?: string;
  private invoke?: Invoke;
  private disabledReason?: string;
  readonly keys: Keys;
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly cfg: RuntimeConfig['events'];
  private readonly onChange = () => this.syncWorkers();
  readonly metrics?: EventMetrics;

  constructor(private readonly opts: EventSystemOptions) {
    this.cfg = opts.config.events;
    this.keys = new Keys(this.cfg);
    if (opts.promRegistry)
      this.metrics = new EventMetrics(opts.promRegistry, {
        lag: () => this.lag(),
        inFlight: () => this.inFlight(),
      });
  }

  /** Per subscribed topic, entries the group has not read yet (Redis 7 reports it in XINFO GROUPS). */
  async lag(): Promise<Array<{ topic: string; lag: number }>> {
    if (this.cmd?.status !== 'ready' || !this.router) return [];
    const out: Array<{ topic: string; lag: number }> = [];
    for (const topic of this.router.topics()) {
      const groups = (await this.cmd
        .call('XINFO', 'GROUPS', this.keys.topic(topic))
        .catch(() => [])) as unknown[][];
      for (const g of groups) {
        const info = fieldsToRecord(g.map(String));
        if (info.name === this.cfg.group && info.lag !== undefined && info.lag !== '')
          out.push({ topic, lag: Number(info.lag) });
      }
    }
    return out;
  }

  /**
   * Per function, its work queue as the consumer group sees it: entries not read yet (lag) and read
   * but not acknowledged (pending, in flight or awaiting a retry). For the dashboard's events view.
   */
  async queueLag(
    fns: readonly string[],
  ): Promise<Array<{ function: string; lag: number; pending: number }>> {
    if (this.cmd?.status !== 'ready') return [];
    const out: Array<{ function: string; lag: number; pending: number }> = [];
    for (const fn of fns) {
      const groups = (await this.cmd
        .call('XINFO', 'GROUPS', this.keys.queue(fn))
        .catch(() => [])) as unknown[][];
      const info = groups
        .map((g) => fieldsToRecord(g.map(String)))
        .find((g) => g.name === this.cfg.group);
      if (info)
        out.push({ function: fn, lag: Number(info.lag) || 0, pending: Number(info.pending) || 0 });
    }
    return out;
  }

  get state(): TriggerState {
    if (!this.cmd) return 'disabled';
    if (this.cmd.status === 'ready' && this.router?.subscribed) {
      this.everSubscribed = true;
      return 'subscribed';
    }
    // Never reached Redis yet: still connecting; lost it after being subscribed: disconnected.
    return this.everSubscribed ? 'disconnected' : 'connecting';
  }

  private everSubscribed = false;

  health(): {
    state: TriggerState;
    reason?: string;
    redis?: string;
    group: string;
    consumer: string;
    topics: string[];
  } {
    const state = this.state;
    return {
      state,
      ...(state === 'disabled' ? { reason: this.disabledReason } : {}),
      ...(this.url ? { redis: redactUrl(this.url) } : {}),
      group: this.cfg.group,
      consumer: this.consumer,
      topics: this.router?.topics() ?? [],
    };
  }

  /** Connect (or start the embedded Redis) and begin routing. `invoke` is the gateway's one path. */
  async start(invoke: Invoke): Promise<void> {
    this.invoke = invoke;
    const env = this.opts.env ?? process.env;
    let url = this.opts.redisUrl || env.REDIS_URL || this.cfg.redisUrl;
    if (!url && this.cfg.embeddedRedis) {
      try {
        this.embedded = await startEmbeddedRedis(this.opts.config.stateDir);
        url = this.embedded.url;
        this.opts.log('started a private redis-server for events', { redis: url });
      } catch (err) {
        const missing = (err as NodeJS.ErrnoException).message.includes('ENOENT');
        this.disabledReason = missing
          ? 'triggers are off: REDIS_URL is unset and redis-server is not on the PATH (install redis-server or set REDIS_URL)'
          : `triggers are off: the private redis-server did not start (${(err as Error).message})`;
      }
    } else if (!url) {
      this.disabledReason =
        'triggers are off: REDIS_URL is unset and events.embedded_redis is false';
    }
    if (!url) {
      this.opts.log(this.disabledReason!);
      return;
    }
    this.url = url;
    this.cmd = connectRedis(url, 'titan-cmd');
    this.cmd.on('error', () => {}); // state is reported through /healthz; ioredis reconnects by itself
    await this.cmd.connect().catch((err) =>
      this.opts.log('redis not reachable yet; will keep trying', {
        redis: redactUrl(url),
        err: (err as Error).message,
      }),
    );
    this.router = new Router({
      cmd: this.cmd,
      blocking: this.newBlocking('titan-router'),
      keys: this.keys,
      cfg: this.cfg,
      consumer: this.consumer,
      triggers: () => this.opts.registry.triggers(),
      onEvent: (topic, outcome) => this.metrics?.events.inc({ topic, outcome }),
      onOverflow: (fn, topic) => this.metrics?.onOutcome({ fn, topic, outcome: 'dead_lettered' }),
      log: this.opts.log,
    });
    this.router.start();
    this.opts.registry.on('change', this.onChange);
    this.syncWorkers();
  }

  private newBlocking(name: string): Redis {
    const r = connectRedis(this.url!, name, true);
    r.on('error', () => {});
    this.blocking.push(r);
    return r;
  }

  /** One queue worker per deployed function; undeployed functions lose theirs. */
  private syncWorkers(): void {
    if (!this.cmd || !this.invoke) return;
    const names = new Set(
      this.opts.registry
        .list()
        .filter((f) => f.status !== 'invalid')
        .map((f) => f.name),
    );
    for (const [fn, w] of this.workers) {
      if (!names.has(fn)) {
        this.workers.delete(fn);
        void w.stop();
      }
    }
    for (const fn of names) {
      if (this.workers.has(fn)) continue;
      const w = new QueueWorker({
        fn,
        cmd: this.cmd,
        blocking: this.newBlocking(`titan-q-${fn}`),
        keys: this.keys,
        cfg: this.cfg,
        consumer: this.consumer,
        invoke: this.invoke,
        maxAttempts: () => this.opts.registry.get(fn)?.spec.maxAttempts ?? this.cfg.maxAttempts,
        onOutcome: (o) => this.metrics?.onOutcome(o),
        log: this.opts.log,
      });
      this.workers.set(fn, w);
      w.start();
    }
  }

  inFlight(): Array<{ fn: string; count: number }> {
    return [...this.workers].map(([fn, w]) => ({ fn, count: w.inFlight }));
  }

  /** The command connection; throws events_unavailable while Redis is not connected. */
  redis(): Redis {
    if (!this.cmd)
      throw new TitanError(
        'events_unavailable',
        this.disabledReason ?? 'events are not configured',
      );
    if (this.cmd.status !== 'ready')
      throw new TitanError(
        'events_unavailable',
        `redis at ${redactUrl(this.url!)} is not connected (${this.cmd.status})`,
      );
    return this.cmd;
  }

  /**
   * Append one event to a topic's stream; returns its entry id. Reserved and malformed topics are
   * invalid_topic (publish-rules.ts): a write there would forge results, queue work or break retries.
   * The stream is trimmed to about topic_maxlen entries: a topic its readers fall that far behind on
   * loses its oldest events, as a bounded log must.
   */
  async publish(topic: string, type: string, dataJson: string, source?: string): Promise<string> {
    validateTopic(topic);
    const id = await this.redis().xadd(
      this.keys.topic(topic),
      'MAXLEN',
      '~',
      this.cfg.topicMaxlen,
      '*',
      ...flatten({ type, data: dataJson, source, time: new Date().toISOString() }),
    );
    if (!this.router?.topics().includes(topic)) this.router?.rescanSoon();
    return id!;
  }

  /**
   * Events a function emitted through context.emit, appended after it succeeded. `emits` comes from
   * the container: all of it is checked first (validateEmits), then written in one MULTI, so an
   * invocation's emits are published whole or not at all. A refusal fails the invocation with the
   * refusal's code although the handler ran: the caller learns its events went nowhere.
   */
  async publishEmits(fn: string, emits: unknown): Promise<void> {
    const checked = validateEmits(fn, emits, this.cfg.maxEmitsPerInvocation);
    if (checked.length === 0) return;
    const tx = this.redis().multi();
    const time = new Date().toISOString();
    for (const e of checked) {
      tx.xadd(
        this.keys.topic(e.topic),
        'MAXLEN',
        '~',
        this.cfg.topicMaxlen,
        '*',
        ...flatten({ type: e.type, data: JSON.stringify(e.data), source: `function:${fn}`, time }),
      );
    }
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
    const known = this.router?.topics() ?? [];
    if (checked.some((e) => !known.includes(e.topic))) this.router?.rescanSoon();
  }

  /**
   * Queue an async invocation with the same delivery guarantees as events; 429 overloaded when the
   * function's backlog is at events.async_backlog_max (async-queue.ts).
   */
  async enqueueAsync(fn: string, eventJson: string): Promise<string> {
    const id = randomUUID();
    await enqueueWithinBacklog(this.redis(), {
      queueKey: this.keys.queue(fn),
      recordKey: this.keys.invocation(id),
      fn,
      id,
      eventJson,
      backlogMax: this.cfg.asyncBacklogMax,
      recordTtlSec: this.cfg.asyncResultTtlSec,
    });
    return id;
  }

  async getInvocation(id: string): Promise<Record<string, unknown>> {
    const h = await this.redis().hgetall(this.keys.invocation(id));
    if (!h.status)
      throw new TitanError(
        'not_found',
        `no async invocation '${id}' (unknown, or its result expired)`,
      );
    const out: Record<string, unknown> = {
      invocationId: id,
      function: h.function,
      status: h.status,
      created_at: h.created_at,
    };
    if (h.finished_at)
      Object.assign(out, { finished_at: h.finished_at, duration_ms: Number(h.duration_ms) });
    if (h.result !== undefined) out.result = JSON.parse(h.result);
    if (h.error !== undefined)
      Object.assign(out, { error: JSON.parse(h.error), attempts: Number(h.attempts) });
    return out;
  }

  /** A stream's newest `count` entries, oldest first, or those after `after` (stream-tail.ts). */
  async readStream(key: string, q: { count: number; after?: string }): Promise<StreamEntry[]> {
    return readTail(this.redis(), key, q);
  }

  async listDlq(count = 100): Promise<Array<Record<string, string> & { id: string }>> {
    const entries = (await this.redis().xrevrange(
      this.keys.dlq,
      '+',
      '-',
      'COUNT',
      count,
    )) as Array<[string, string[]]>;
    return entries.map(([id, flat]) => ({ id, ...fieldsToRecord(flat) }));
  }

  /** Put a dead-lettered entry back on its function's queue, attempts reset; removes it from the DLQ. */
  async replayDlq(id: string): Promise<{ id: string; function: string; queued: string }> {
    const redis = this.redis();
    const [entry] = (await redis.xrange(this.keys.dlq, id, id)) as Array<[string, string[]]>;
    if (!entry) throw new TitanError('not_found', `no DLQ entry '${id}'`);
    const { function: fn, error: _e, attempts: _a, ...original } = fieldsToRecord(entry[1]);
    if (!fn)
      throw new TitanError(
        'invalid_request',
        `DLQ entry '${id}' is a malformed event that matched no function; fix it and publish it again`,
      );
    const tx = redis.multi();
    tx.xadd(this.keys.queue(fn), '*', ...flatten({ ...original, kind: original.kind ?? 'event' }));
    tx.xdel(this.keys.dlq, id);
    const res = await tx.exec();
    return { id, function: fn, queued: String(res?.[0]?.[1]) };
  }

  async close(): Promise<void> {
    this.opts.registry.off('change', this.onChange);
    const stops = [this.router?.stop(), ...[...this.workers.values()].map((w) => w.stop())];
    // Blocking reads return within block_ms; disconnecting cuts them short.
    for (const r of this.blocking) r.disconnect();
    await Promise.allSettled(stops);
    this.workers.clear();
    this.cmd?.disconnect();
    await this.embedded?.stop();
  }
}
