// Prometheus metrics of the event system, registered in the gateway's own registry.
import { Counter, Gauge, type Registry } from 'prom-client';

export class EventMetrics {
  readonly events: Counter<'topic' | 'outcome'>;
  readonly retries: Counter<'function'>;
  readonly dlq: Counter<'function'>;

  constructor(
    registry: Registry,
    source: {
      lag: () => Promise<Array<{ topic: string; lag: number }>>;
      inFlight: () => Array<{ fn: string; count: number }>;
    },
  ) {
    const registers = [registry];
    this.events = new Counter({
      name: 'titan_events_total',
      help: 'Events by topic and outcome: routed, ignored (no trigger matched), malformed; per function: ok, retry, dead_lettered',
      labelNames: ['topic', 'outcome'],
      registers,
    });
    this.retries = new Counter({
      name: 'titan_event_retries_total',
      help: 'Event and async invocation retries',
      labelNames: ['function'],
      registers,
    });
    this.dlq = new Counter({
      name: 'titan_dlq_total',
      help: 'Entries dead-lettered',
      labelNames: ['function'],
      registers,
    });
    new Gauge({
      name: 'titan_consumer_lag',
      help: 'Entries in a topic not yet read by the consumer group (XINFO GROUPS lag)',
      labelNames: ['topic'],
      registers,
      async collect() {
        this.reset();
        for (const { topic, lag } of await source.lag().catch(() => [])) this.set({ topic }, lag);
      },
    });
    new Gauge({
      name: 'titan_event_inflight',
      help: 'Event and async invocations in flight per function',
      labelNames: ['function'],
      registers,
      collect() {
        this.reset();
        for (const { fn, count } of source.inFlight()) this.set({ function: fn }, count);
      },
    });
  }

  onOutcome = (o: {
    fn: string;
    topic?: string;
    outcome: 'ok' | 'retry' | 'dead_lettered';
  }): void => {
    if (o.topic) this.events.inc({ topic: o.topic, outcome: o.outcome });
    if (o.outcome === 'retry') this.retries.inc({ function: o.fn });
    if (o.outcome === 'dead_lettered') this.dlq.inc({ function: o.fn });
  };
}
