// Reads every subscribed topic with the consumer group and fans each event out to the work queue
// of every function whose trigger matches. The fan-out and the XACK are one Lua script per batch
// (fan-out.ts), so an event is either durably queued for all its functions or still pending (and
// reclaimed after a crash). On a Redis Cluster the topic, its functions' queues and the DLQ are in
// different slots: fan-out-cluster.ts orders the steps there (queues first, acknowledgement last),
// each topic is read on its own (topic-reads.ts), and glob triggers scan every master.
// Never reads a reserved key (runtime/topics.ts), whatever a glob trigger says; a function whose
// queue is full (queue_maxlen) gets the event in the DLQ instead, as overloaded, never silently lost.
import { setTimeout as sleep } from 'node:timers/promises';
import type { RuntimeConfig } from '../../runtime/config.ts';
import type { TriggerSpec } from '../../runtime/spec.ts';
import { isReservedTopic } from '../../runtime/topics.ts';
import { parseEntry } from './event.ts';
import { globToRedisPattern, isGlob, topicMatches, typeMatches } from './glob.ts';
import type { Keys } from './keys.ts';
import { fanOut, type Routed } from './fan-out.ts';
import { isCluster, type RedisClient } from './redis.ts';
import type { Durability } from './replication.ts';
import { PerTopicReads } from './topic-reads.ts';
import { Reclaimer, runTurns } from './consumer-loop.ts';
import {
  ensureGroup,
  isNoGroup,
  readGroup,
  readOwnPending,
  scanStreams,
  type Entry,
} from './streams.ts';

export interface RouterDeps {
  cmd: RedisClient;
  blocking: RedisClient;
  /** a connection of its own for one topic's blocking reads (a cluster reads each topic apart) */
  newBlocking: (name: string) => RedisClient;
  durability: Durability;
  keys: Keys;
  cfg: RuntimeConfig['events'];
  consumer: string;
  triggers: () => Array<{ fn: string } & TriggerSpec>;
  onEvent?: (topic: string, outcome: 'routed' | 'ignored' | 'malformed') => void;
  /** an event matched `fn`, whose queue was full: it went to the DLQ */
  onOverflow?: (fn: string, topic: string) => void;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

export class Router {
  private running = false;
  private loop?: Promise<void>;
  /** topics whose group we created (or found) since the last Redis restart */
  private readonly grouped = new Set<string>();
  private discovered = new Set<string>();
  /** per glob trigger: Redis time (ms) when this router first saw it; see startId */
  private readonly globSince = new Map<string, number>();
  /** a group vanished (Redis lost its data, or a stream was deleted): streams recreated since are new */
  private regroupFromStart = false;
  /** after an error: entries this consumer read but did not route are routed before new ones */
  private recoverOwn = false;
  private lastScan = 0;
  subscribed = false;
  private readonly perTopic: PerTopicReads;
  private readonly reclaimer: Reclaimer;

  constructor(private readonly deps: RouterDeps) {
    this.reclaimer = new Reclaimer(deps.cmd, deps.cfg, deps.consumer);
    this.perTopic = new PerTopicReads(
      (topic) => deps.newBlocking(`titan-router-${topic}`),
      (conn, topic) => this.read(conn, [deps.keys.topic(topic)]),
    );
  }

  private read(conn: RedisClient, keys: string[]) {
    const { cfg, consumer } = this.deps;
    return readGroup(conn, cfg.group, consumer, keys, cfg.readCount, cfg.blockMs);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.perTopic.close();
    await this.loop;
  }

  /** The topics read now: exact trigger topics plus streams found for glob triggers. */
  topics(): string[] {
    // Manifests cannot name a reserved topic; checked again here, as this is what reads Redis.
    const exact = this.deps
      .triggers()
      .filter((t) => !isGlob(t.topic) && !isReservedTopic(t.topic))
      .map((t) => t.topic);
    return [...new Set([...exact, ...this.discovered])].sort();
  }

  /** Ask for a glob rescan on the next turn (a publish to a topic we have not seen yet). */
  rescanSoon(): void {
    this.lastScan = 0;
  }

  private run(): Promise<void> {
    return runTurns(
      () => this.running,
      () => this.turn(),
      (err) => {
        this.subscribed = false;
        this.recoverOwn = true;
        if (isNoGroup(err)) {
          // Redis lost its data (restart without persistence): every entry now in a stream came after.
          this.grouped.clear();
          this.regroupFromStart = true;
        } else
          this.deps.log('event router: redis error, retrying', { err: (err as Error).message });
      },
    );
  }

  private async turn(): Promise<void> {
    const now = Date.now();
    if (now - this.lastScan > this.deps.cfg.topicScanSec * 1000) {
      this.lastScan = now;
      await this.scanGlobs();
    }
    const topics = this.topics();
    for (const t of topics) {
      if (this.grouped.has(t)) continue;
      await ensureGroup(
        this.deps.cmd,
        this.deps.keys.topic(t),
        this.deps.cfg.group,
        this.startId(t),
      );
      this.grouped.add(t);
    }
    this.regroupFromStart = false;
    this.subscribed = true;
    if (topics.length === 0) {
      await sleep(100);
      return;
    }
    if (this.recoverOwn) {
      for (const t of topics)
        await this.route(
          t,
          await readOwnPending(
            this.deps.cmd,
            this.deps.cfg.group,
            this.deps.consumer,
            this.deps.keys.topic(t),
            this.deps.cfg.readCount,
          ),
        );
      this.recoverOwn = false;
    }
    if (this.reclaimer.due(now)) {
      for (const t of topics) {
        const claimed = await this.reclaimer.claim(
          this.deps.keys.topic(t),
          this.deps.cfg.readCount,
        );
        if (claimed.length)
          this.deps.log('event router: reclaimed pending events', {
            topic: t,
            count: claimed.length,
          });
        await this.route(t, claimed);
      }
    }
    if (isCluster(this.deps.cmd)) {
      const { entries, err } = await this.perTopic.next(topics);
      for (const [topic, es] of entries) await this.route(topic, es);
      if (err) throw err;
      return;
    }
    const reply = await this.read(this.deps.blocking, topics.map(this.deps.keys.topic));
    for (const [key, entries] of reply ?? [])
      await this.route(this.deps.keys.topicOf(key), entries);
  }

  /**
   * Where a new group starts. A brand-new subscription reads only what arrives from now on
   * (startFrom: new): `$` for an exact topic. A stream found through a glob is often found only
   * after its first events (the scan runs every topic_scan_sec, or after a publish), so `$` would
   * skip them: it starts where the glob subscription began instead, so nothing published since is lost.
   */
  private startId(topic: string): string {
    if (this.deps.cfg.startFrom === 'all' || this.regroupFromStart) return '0';
    const exact = this.deps.triggers().some((t) => !isGlob(t.topic) && t.topic === topic);
    const since = [...this.globSince].filter(([g]) => topicMatches(g, topic)).map(([, ms]) => ms);
    return exact || since.length === 0 ? '$' : `${Math.min(...since) - 1}`;
  }

  private async scanGlobs(): Promise<void> {
    const globs = [
      ...new Set(
        this.deps
          .triggers()
          .filter((t) => isGlob(t.topic))
          .map((t) => t.topic),
      ),
    ];
    for (const g of globs) {
      if (this.globSince.has(g)) continue;
      const [sec, usec] = await this.deps.cmd.time(); // Redis' clock: it stamps the entry ids
      this.globSince.set(g, Number(sec) * 1000 + Math.floor(Number(usec) / 1000));
    }
    const found = new Set<string>();
    for (const g of globs) {
      const keys = await scanStreams(this.deps.cmd, this.deps.keys.prefix + globToRedisPattern(g));
      // `*`, `t*` and `titan*` match the runtime's own streams too: every reserved key is skipped.
      for (const k of keys) if (!this.deps.keys.isInternal(k)) found.add(this.deps.keys.topicOf(k));
    }
    this.discovered = found;
  }

  /**
   * Fan a batch out in one atomic round trip (fan-out.ts): XADD to each matching queue within its
   * bound, dead-letter what cannot run or does not fit, XACK the batch.
   */
  private async route(topic: string, entries: Entry[]): Promise<void> {
    if (entries.length === 0) return;
    const triggers = this.deps.triggers();
    const outcomes: Array<'routed' | 'ignored' | 'malformed'> = [];
    const batch: Routed[] = entries.map(([id, flat]) => {
      const p = parseEntry(topic, id, flat);
      if (!p.ok) {
        outcomes.push('malformed');
        return {
          id,
          dlq: {
            ...p.fields,
            topic,
            event_id: id,
            function: '',
            error: JSON.stringify({ code: 'invalid_event', message: p.error }),
            attempts: '0',
          },
        };
      }
      const e = p.event;
      const fns = [
        ...new Set(
          triggers
            .filter((t) => topicMatches(t.topic, topic) && typeMatches(t.eventType, e.type))
            .map((t) => t.fn),
        ),
      ];
      outcomes.push(fns.length ? 'routed' : 'ignored');
      return {
        id,
        fns,
        job: {
          kind: 'event',
          topic,
          event_id: id,
          type: e.type,
          data: e.dataJson,
          source: e.source,
          time: e.time,
          correlation_id: e.correlationId,
        },
      };
    });
    const full = await fanOut(
      this.deps.cmd,
      { topic: this.deps.keys.topic(topic), dlq: this.deps.keys.dlq, queue: this.deps.keys.queue },
      {
        group: this.deps.cfg.group,
        queueMaxlen: this.deps.cfg.queueMaxlen,
        dlqMaxlen: this.deps.cfg.dlqMaxlen,
      },
      batch,
      this.deps.durability,
    );
    for (const o of outcomes) this.deps.onEvent?.(topic, o);
    for (const [fn, count] of full) {
      this.deps.log('event router: queue full, events dead-lettered as overloaded', {
        fn,
        topic,
        count,
        queueMaxlen: this.deps.cfg.queueMaxlen,
      });
      for (let i = 0; i < count; i++) this.deps.onOverflow?.(fn, topic);
    }
  }
}
