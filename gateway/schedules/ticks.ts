// Who runs a scheduled tick: with Redis, the one gateway that claims it (SET NX PX on a key derived
// from the function and the tick's time, in the reserved `titan.` namespace, which no topic, publish
// or emit can name: runtime/topics.ts), which also records it as the function's last run for
// catch_up. Without Redis each gateway runs every tick of its own functions.
import type { RedisClient } from '../events/redis.ts';

export interface TickStore {
  /** true when this gateway is to run `fn`'s tick at `at` (epoch ms); false when another one has it */
  claim(fn: string, at: number): Promise<boolean>;
  /** the latest tick of `fn` some gateway claimed, if any is remembered */
  lastRun(fn: string): Promise<number | undefined>;
}

/** How long a claim is kept: far longer than the clock skew between gateways, short enough to leave little behind. */
export const CLAIM_TTL_MS = 10 * 60_000;
/** How long a function's last run is remembered for catch_up. */
export const LAST_RUN_TTL_MS = 35 * 86_400_000;

/** The keys of one function's schedule; `{fn}` keeps both in one Redis Cluster slot for the script. */
export const scheduleKeys = (prefix: string, fn: string, at?: number) => ({
  tick: `${prefix}titan.schedule:{${fn}}:tick:${at ?? 0}`,
  last: `${prefix}titan.schedule:{${fn}}:last`,
});

// The claim and the last-run record in one step: a gateway that claims a tick and dies before
// recording it must not leave catch_up believing the tick never ran. The last run only moves forward.
const CLAIM = `
if not redis.call('SET', KEYS[1], ARGV[3], 'NX', 'PX', ARGV[1]) then return 0 end
local last = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if tonumber(ARGV[2]) > last then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4]) end
return 1`;

export class RedisTicks implements TickStore {
  constructor(
    /** the event system's command connection; throws events_unavailable while Redis is away */
    private readonly redis: () => RedisClient,
    private readonly prefix: string,
    /** names this gateway in the claim, for whoever reads Redis by hand */
    private readonly owner: string,
  ) {}

  async claim(fn: string, at: number): Promise<boolean> {
    const k = scheduleKeys(this.prefix, fn, at);
    return (
      (await this.redis().eval(
        CLAIM,
        2,
        k.tick,
        k.last,
        CLAIM_TTL_MS,
        at,
        this.owner,
        LAST_RUN_TTL_MS,
      )) === 1
    );
  }

  async lastRun(fn: string): Promise<number | undefined> {
    const v = Number(await this.redis().get(scheduleKeys(this.prefix, fn).last));
    return Number.isFinite(v) && v > 0 ? v : undefined;
  }
}

/** One process's ticks: every tick is this gateway's (no Redis), remembered in memory only. */
export class LocalTicks implements TickStore {
  private readonly last = new Map<string, number>();
  private readonly claimed = new Set<string>();

  async claim(fn: string, at: number): Promise<boolean> {
    const key = `${fn}@${at}`;
    if (this.claimed.has(key)) return false;
    this.claimed.add(key);
    if (this.claimed.size > 10_000) this.claimed.delete(this.claimed.values().next().value!);
    if (at > (this.last.get(fn) ?? 0)) this.last.set(fn, at);
    return true;
  }

  async lastRun(fn: string): Promise<number | undefined> {
    return this.last.get(fn);
  }
}
