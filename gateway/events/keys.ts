// Every Redis key the event system uses, in one place, with the configured prefix applied.
import type { RuntimeConfig } from '../../runtime/config.ts';

export class Keys {
  constructor(private readonly cfg: RuntimeConfig['events']) {}
  get prefix(): string {
    return this.cfg.key_prefix;
  }
  topic = (topic: string): string => this.cfg.key_prefix + topic;
  /** strip the prefix from a stream key found by SCAN */
  topicOf = (key: string): string => key.slice(this.cfg.key_prefix.length);
  queue = (fn: string): string => `${this.cfg.key_prefix}${this.cfg.queue_prefix}${fn}`;
  get results(): string {
    return this.cfg.key_prefix + this.cfg.results_stream;
  }
  get dlq(): string {
    return this.cfg.key_prefix + this.cfg.dlq_stream;
  }
  /** attempts so far per (function, queue entry), so a reclaimed entry keeps counting */
  get attempts(): string {
    return `${this.cfg.key_prefix}titan.attempts`;
  }
  invocation = (id: string): string => `${this.cfg.key_prefix}titan.invocation:${id}`;
}
