// The event side of the gateway: one Redis connection for commands, a router reading the topics,
// a queue worker per deployed function, and the publish / async / DLQ operations the routes use.
// Without Redis it stays `disabled` and says why; HTTP invocation never depends on it.
import { hostname } from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import { TOPIC_PATTERN, type RuntimeConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';
import type { Registry } from '../../runtime/registry.ts';
import type { Invoke } from '../invoke.ts';
import { enqueueWithinBacklog } from './async-queue.ts';
import { listDlq, replayDlq } from './dlq.ts';
import { resolveRedisUrl, type EmbeddedRedis } from './embedded-redis.ts';
import { getInvocation } from './invocations.ts';
import { Keys } from './keys.ts';
import { queueLag, topicLag } from './lag.ts';
import { appendEmits, appendEvent } from './publish.ts';
import { connectRedis, isCluster, isReplicated, redactUrl, type RedisClient } from './redis.ts';
import type { Durability } from './replication.ts';
import { Router } from './router.ts';
import { validateEmits, validateTopic } from './publish-rules.ts';
import { readTail, type StreamEntry } from './stream-tail.ts';
import { QueueWorker } from './worker.ts';
import { syncWorkers } from './workers.ts';
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
  private cmd?: RedisClient;
  private readonly blocking: RedisClient[] = [];
  private router?: Router;
  private readonly workers = new Map<string, QueueWorker>();
  private embedded?: EmbeddedRedis;
  private url?: string;
  /** WAIT for a replica after acknowledged writes: on Cluster and Sentinel (replication.ts) */
  private durability: Durability = { replicated: false, waitMs: 0 };
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

  /** Per subscribed topic, entries the group has not read yet (lag.ts). */
  async lag(): Promise<Array<{ topic: string; lag: number }>> {
    if (this.cmd?.status !== 'ready' || !this.router) return [];
    const topics = this.router.topics().map((topic) => ({ topic, key: this.keys.topic(topic) }));
    return topicLag(this.cmd, this.cfg.group, topics);
  }

  /** Per function, its work queue's entries not read yet and pending: the dashboard's events view. */
  async queueLag(fns: readonly string[]): ReturnType<typeof queueLag> {
    if (this.cmd?.status !== 'ready') return [];
    const queues = fns.map((fn) => ({ fn, key: this.keys.queue(fn) }));
    return queueLag(this.cmd, this.cfg.group, queues);
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
    const found = await resolveRedisUrl(
      this.opts.redisUrl || (this.opts.env ?? process.env).REDIS_URL || this.cfg.redis_url,
      this.cfg.embedded_redis,
      this.opts.config.state_dir,
      this.opts.log,
    );
    this.embedded = found.embedded;
    this.disabledReason = found.reason;
    const url = found.url;
    if (!url) {
      this.opts.log(this.disabledReason!);
      return;
    }
    this.url = url;
    this.cmd = connectRedis(url, 'titan-cmd');
    this.keys.tagged = isCluster(this.cmd);
    this.durability = { replicated: isReplicated(url), waitMs: this.cfg.replica_wait_ms };
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
      newBlocking: (name) => this.newBlocking(name),
      durability: this.durability,
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

  private newBlocking(name: string): RedisClient {
    const r = connectRedis(this.url!, name, true);
    r.on('error', () => {});
    this.blocking.push(r);
    return r;
  }

  /** One queue worker per deployed function; undeployed functions lose theirs. */
  private syncWorkers(): void {
    const { cmd, invoke, opts, cfg } = this;
    if (!cmd || !invoke) return;
    const deployed = opts.registry.list().filter((f) => f.status !== 'invalid');
    syncWorkers(this.workers, new Set(deployed.map((f) => f.name)), (fn) => {
      return new QueueWorker({
        fn,
        cmd,
        blocking: this.newBlocking(`titan-q-${fn}`),
        keys: this.keys,
        cfg,
        consumer: this.consumer,
        invoke,
        maxAttempts: () => opts.registry.get(fn)?.spec.maxAttempts ?? cfg.max_attempts,
        durability: this.durability,
        onOutcome: (o) => this.metrics?.onOutcome(o),
        log: opts.log,
      });
    });
  }

  inFlight(): Array<{ fn: string; count: number }> {
    return [...this.workers].map(([fn, w]) => ({ fn, count: w.inFlight }));
  }

  /** The command connection; throws events_unavailable while Redis is not connected. */
  redis(): RedisClient {
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
   * Append one event to a topic's stream (publish.ts); returns its entry id. Reserved and malformed
   * topics are invalid_topic (publish-rules.ts): a write there would forge results, queue work or
   * break retries.
   */
  async publish(topic: string, type: string, dataJson: string, source?: string): Promise<string> {
    validateTopic(topic);
    const time = new Date().toISOString();
    const id = await appendEvent(this.target(), {
      topic,
      fields: { type, data: dataJson, source, time },
    });
    if (!this.router?.topics().includes(topic)) this.router?.rescanSoon();
    return id;
  }

  private target() {
    return { redis: this.redis(), keys: this.keys, cfg: this.cfg, durability: this.durability };
  }

  /**
   * Events a function emitted through context.emit, appended after it succeeded. `emits` comes from
   * the container: all of it is checked first (validateEmits), then written (publish.ts: one MULTI
   * on one node, whole or not at all). A refusal fails the invocation with the refusal's code
   * although the handler ran: the caller learns its events went nowhere.
   */
  async publishEmits(fn: string, emits: unknown): Promise<void> {
    const checked = validateEmits(fn, emits, this.cfg.max_emits_per_invocation);
    if (checked.length === 0) return;
    const time = new Date().toISOString();
    const source = `function:${fn}`;
    await appendEmits(
      this.target(),
      checked.map((e) => ({
        topic: e.topic,
        fields: { type: e.type, data: JSON.stringify(e.data), source, time },
      })),
    );
    const known = this.router?.topics() ?? [];
    if (checked.some((e) => !known.includes(e.topic))) this.router?.rescanSoon();
  }

  /**
   * Queue an async invocation with the same delivery guarantees as events; 429 overloaded when the
   * function's backlog is at events.async_backlog_max (async-queue.ts).
   */
  async enqueueAsync(fn: string, eventJson: string): Promise<string> {
    const id = randomUUID();
    await enqueueWithinBacklog(
      this.redis(),
      {
        queueKey: this.keys.queue(fn),
        recordKey: this.keys.invocation(id),
        fn,
        id,
        eventJson,
        backlogMax: this.cfg.async_backlog_max,
        recordTtlSec: this.cfg.async_result_ttl_sec,
      },
      this.durability,
    );
    return id;
  }

  getInvocation(id: string): Promise<Record<string, unknown>> {
    return getInvocation(this.redis(), this.keys, id);
  }

  /** A stream's newest `count` entries, oldest first, or those after `after` (stream-tail.ts). */
  async readStream(key: string, q: { count: number; after?: string }): Promise<StreamEntry[]> {
    return readTail(this.redis(), key, q);
  }

  listDlq(count = 100): ReturnType<typeof listDlq> {
    return listDlq(this.redis(), this.keys, count);
  }

  replayDlq(id: string): ReturnType<typeof replayDlq> {
    return replayDlq(this.redis(), this.keys, this.durability, id);
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
