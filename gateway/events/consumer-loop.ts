// What the topic router and the queue workers share as consumers of a stream's group: a loop of
// turns that outlives Redis errors, and the reclaim rule (take over what a dead consumer left).
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from './redis.ts';
import { autoClaim, type Entry, idleConsumerMs, pruneIdleConsumers } from './streams.ts';

/** After a failed turn: long enough not to spin on a Redis that is away, short enough to resume fast. */
const ERROR_PAUSE_MS = 250;

/** Runs `turn` while `running()`; a turn that throws goes to `onError`, then the loop pauses. */
export async function runTurns(
  running: () => boolean,
  turn: () => Promise<void>,
  onError: (err: unknown) => void,
): Promise<void> {
  while (running()) {
    try {
      await turn();
    } catch (err) {
      onError(err);
      await sleep(ERROR_PAUSE_MS);
    }
  }
}

export interface ReclaimConfig {
  group: string;
  reclaimIdleSec: number;
  blockMs: number;
}

/**
 * The reclaim rule. Live consumers touch their entries every reclaim_idle_sec/3, so an entry idle
 * for reclaim_idle_sec belongs to a consumer that died: every half of that, take such entries over,
 * then forget consumers that hold nothing and have been idle far longer (streams.ts).
 */
export class Reclaimer {
  private last = 0;

  constructor(
    private readonly cmd: RedisClient,
    private readonly cfg: ReclaimConfig,
    private readonly consumer: string,
  ) {}

  /** True at most once per half reclaim_idle_sec. */
  due(now: number): boolean {
    if (now - this.last <= (this.cfg.reclaimIdleSec * 1000) / 2) return false;
    this.last = now;
    return true;
  }

  /** Up to `count` entries of `key` idle for reclaim_idle_sec, now ours. */
  async claim(key: string, count: number): Promise<Entry[]> {
    const { group, reclaimIdleSec } = this.cfg;
    const claimed = await autoClaim(
      this.cmd,
      key,
      group,
      this.consumer,
      reclaimIdleSec * 1000,
      count,
    );
    await pruneIdleConsumers(this.cmd, key, group, this.consumer, idleConsumerMs(this.cfg));
    return claimed;
  }
}
