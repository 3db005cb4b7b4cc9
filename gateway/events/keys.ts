// Every Redis key the event system uses, in one place, with the configured prefix applied. All of
// them except topics are in the reserved namespace (runtime/topics.ts): the config makes sure of the
// configurable ones, the rest are written here.
import type { RuntimeConfig } from '../../runtime/config.ts';
import { isReservedTopic } from '../../runtime/topics.ts';

export class Keys {
  constructor(private readonly cfg: RuntimeConfig['events']) {}
  get prefix(): string {
    return this.cfg.keyPrefix;
  }
  topic = (topic: string): string => this.cfg.keyPrefix + topic;
  /** strip the prefix from a stream key found by SCAN */
  topicOf = (key: string): string => key.slice(this.cfg.keyPrefix.length);
  /** a key SCAN found that is the runtime's own (or another deployment's, see isReservedTopic), never a topic */
  isInternal = (key: string): boolean =>
    !key.startsWith(this.cfg.keyPrefix) || isReservedTopic(this.topicOf(key));
  queue = (fn: string): string => `${this.cfg.keyPrefix}${this.cfg.queuePrefix}${fn}`;
  get results(): string {
    return this.cfg.keyPrefix + this.cfg.resultsStream;
  }
  get dlq(): string {
    return this.cfg.keyPrefix + this.cfg.dlqStream;
  }
  /**
   * Attempts so far of one queue entry, so a reclaimed entry keeps counting. A key per entry rather
   * than fields of one hash: each expires on its own (attempts_ttl_sec), so an entry that is never
   * finished (its function removed mid-retry) leaves nothing behind for good.
   */
  attempts = (fn: string, entryId: string): string =>
    `${this.cfg.keyPrefix}titan.attempts:${fn}:${entryId}`;
  invocation = (id: string): string => `${this.cfg.keyPrefix}titan.invocation:${id}`;
}
