// The router's blocking reads on a Redis Cluster. One XREADGROUP may only name keys of one slot,
// and topic streams are spread over the slots (their names carry no hash tag), so each topic is
// read on its own: a blocking read per topic, each on a connection of its own (a blocked
// connection serves nothing else), all in flight at once. The router takes whichever answered, so
// a busy topic is routed as fast as its reads come back, not at the pace of the idle ones.
import type { RedisClient } from './redis.ts';
import type { Entry, ReadReply } from './streams.ts';

type Done = { topic: string; reply: ReadReply } | { topic: string; err: unknown };

export class PerTopicReads {
  private readonly reads = new Map<string, Promise<void>>();
  private readonly done: Done[] = [];
  private readonly conns = new Map<string, RedisClient>();
  private wake?: () => void;

  constructor(
    private readonly connect: (topic: string) => RedisClient,
    private readonly read: (conn: RedisClient, topic: string) => Promise<ReadReply>,
  ) {}

  /**
   * Start a read for every topic without one, wait until at least one answered, and hand over all
   * that did: entries per topic, and the first error (the caller routes the entries, then throws).
   */
  async next(topics: string[]): Promise<{ entries: Array<[string, Entry[]]>; err?: unknown }> {
    for (const t of topics) if (!this.reads.has(t)) this.start(t);
    if (this.done.length === 0) await new Promise<void>((r) => (this.wake = r));
    this.wake = undefined;
    const done = this.done.splice(0);
    const entries: Array<[string, Entry[]]> = [];
    let err: unknown;
    for (const d of done) {
      this.reads.delete(d.topic);
      if ('err' in d) err ??= d.err;
      else for (const [, es] of d.reply ?? []) entries.push([d.topic, es]);
      // A topic no longer read (its trigger removed) gives its connection back once its read is done.
      if (!topics.includes(d.topic)) {
        this.conns.get(d.topic)?.disconnect();
        this.conns.delete(d.topic);
      }
    }
    return { entries, err };
  }

  private start(topic: string): void {
    let conn = this.conns.get(topic);
    if (!conn) {
      conn = this.connect(topic);
      this.conns.set(topic, conn);
    }
    const settle = (d: Done) => {
      this.done.push(d);
      this.wake?.();
    };
    this.reads.set(
      topic,
      this.read(conn, topic).then(
        (reply) => settle({ topic, reply }),
        (err: unknown) => settle({ topic, err }),
      ),
    );
  }

  /** Cut the reads short (they return within block_ms anyway) and drop the connections. */
  close(): void {
    for (const c of this.conns.values()) c.disconnect();
    this.conns.clear();
    this.wake?.();
  }
}
