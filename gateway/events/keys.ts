// Every Redis key the event system uses, in one place, with the configured prefix applied. All of
// them except topics are in the reserved namespace (runtime/topics.ts): the config makes sure of the
// configurable ones, the rest are written here.
import type { RuntimeConfig } from '../../runtime/config.ts';
import { isReservedTopic } from '../../runtime/topics.ts';

export class Keys {
  /**
   * On a Redis Cluster a function's own keys (work queue, attempts counters) carry its name as a
   * hash tag, `{fn}`, so the outcome's XACK + XDEL + DEL is one MULTI in one slot, and functions
   * spread over the masters. One node (or Sentinel) needs no tags: keys keep today's names there,
   * so an existing deployment upgrades with nothing to move (docs/events-keys.md).
   */
  tagged = false;
  constructor(private readonly cfg: RuntimeConfig['events']) {}
  /** `{fn}` on a cluster: function names cannot hold braces (manifest rules), so the tag is exactly the name */
  private own = (fn: string): string => (this.tagged ? `{${fn}}` : fn);
  get prefix(): string {
    return this.cfg.key_prefix;
  }
  topic = (topic: string): string => this.cfg.key_prefix + topic;
  /** strip the prefix from a stream key found by SCAN */
  topicOf = (key: string): string => key.slice(this.cfg.key_prefix.length);
  /** a key SCAN found that is the runtime's own (or another deployment's, see isReservedTopic), never a topic */
  isInternal = (key: string): boolean =>
    !key.startsWith(this.cfg.key_prefix) || isReservedTopic(this.topicOf(key));
  queue = (fn: string): string => `${this.cfg.key_prefix}${this.cfg.queue_prefix}${this.own(fn)}`;
  get results(): string {
    return this.cfg.key_prefix + this.cfg.results_stream;
  }
  get dlq(): string {
    return this.cfg.key_prefix + this.cfg.dlq_stream;
  }
  /**
   * Attempts so far of one queue entry, so a reclaimed entry keeps counting. A key per entry rather
   * than fields of one hash: each expires on its own (attempts_ttl_sec), so an entry that is never
   * finished (its function removed mid-retry) leaves nothing behind for good.
   */
  attempts = (fn: string, entryId: string): string =>
    `${this.cfg.key_prefix}titan.attempts:${this.own(fn)}:${entryId}`;
  invocation = (id: string): string => `${this.cfg.key_prefix}titan.invocation:${id}`;
}
