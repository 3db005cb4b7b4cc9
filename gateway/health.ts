// What GET /healthz answers: whether this host can serve invocations, for a load balancer in front
// of several gateways. `serving` is `ready` (engine answers, nothing wrong), `degraded` (serving
// HTTP invocations, but something a host should have is missing: Redis away, a pool whose containers
// fail to start, a file source down) or `unavailable` (no engine: 503, take the host out).
// Cheap: one engine ping per second at most, however many callers ask (a flood of anonymous checks
// cannot become a flood of engine requests). Anonymous callers of a gateway with an admin token
// learn `status` and `serving` and nothing else: no versions, names, paths, counts or errors.
import type { ContainerEngine, EngineInfo } from '../runtime/engine/engine.ts';
import type { PoolEvent } from '../runtime/pool.ts';
import type { StemEvent } from '../runtime/stem-cells/cold-start-route.ts';
import type { Registry } from '../runtime/registry.ts';
import type { EventSystem } from './events/event-system.ts';
import type { SourceStatus } from './sources/fs-source.ts';

export type Serving = 'ready' | 'degraded' | 'unavailable';

/** How long one engine ping answers for every health check. */
export const ENGINE_PING_TTL_MS = 1_000;

/**
 * Which functions' pools are failing to start containers now: a failed start marks the function
 * until one of its starts succeeds. Fed by the registry's pool events (gateway.ts).
 */
export class FailingPools {
  private readonly failing = new Set<string>();
  onPoolEvent(fn: string, e: PoolEvent | StemEvent): void {
    if (e.kind === 'start_failed') this.failing.add(fn);
    else if (e.kind === 'started') this.failing.delete(fn);
  }
  /** the failing ones among `deployed` (a removed function's last failure does not count) */
  among(deployed: (fn: string) => boolean): string[] {
    return [...this.failing].filter(deployed).sort();
  }
}

export interface HealthDeps {
  engine: Pick<ContainerEngine, 'ping'>;
  events: Pick<EventSystem, 'health'>;
  registry: Pick<Registry, 'list' | 'get'>;
  sources: () => unknown[];
  failingPools?: FailingPools;
  now?: () => number;
}

type Ping = { ok: true; info: EngineInfo } | { ok: false; error: string };

export class Health {
  private last?: { at: number; ping: Promise<Ping> };
  constructor(private readonly d: HealthDeps) {}

  /** The engine's answer, shared by every check within ENGINE_PING_TTL_MS (and while one is in flight). */
  private ping(): Promise<Ping> {
    const now = (this.d.now ?? Date.now)();
    if (this.last && now - this.last.at < ENGINE_PING_TTL_MS) return this.last.ping;
    const ping = this.d.engine.ping().then(
      (info): Ping => ({ ok: true, info }),
      (err): Ping => ({ ok: false, error: (err as Error).message }),
    );
    this.last = { at: now, ping };
    return ping;
  }

  /** `full`: the caller may see everything (it holds the token, or none is configured). */
  async report(full: boolean): Promise<{ code: 200 | 503; body: Record<string, unknown> }> {
    const ping = await this.ping();
    const triggers = this.d.events.health();
    if (!ping.ok) {
      const body = { status: 'unavailable', serving: 'unavailable' as Serving };
      if (!full) return { code: 503, body };
      return {
        code: 503,
        body: { ...body, engine: { reachable: false, error: ping.error }, triggers },
      };
    }
    const degraded: string[] = [];
    // `disabled` is a gateway without Redis by configuration; anything else but subscribed is Redis away.
    if (triggers.state !== 'subscribed' && triggers.state !== 'disabled')
      degraded.push(`events: ${triggers.state}`);
    const pools = this.d.failingPools?.among((fn) => this.d.registry.get(fn) !== undefined) ?? [];
    if (pools.length) degraded.push(`containers failing to start: ${pools.join(', ')}`);
    const sources = this.d.sources();
    const down = (sources as SourceStatus[]).filter((s) =>
      ['failed', 'retrying'].includes(s.state),
    );
    if (down.length) degraded.push(`file sources down: ${down.map((s) => s.path).join(', ')}`);
    const serving: Serving = degraded.length ? 'degraded' : 'ready';
    if (!full) return { code: 200, body: { status: 'ok', serving } };
    return {
      code: 200,
      body: {
        status: 'ok',
        serving,
        ...(degraded.length ? { degraded } : {}),
        engine: { reachable: true, ...ping.info },
        triggers,
        functions: this.d.registry.list().length,
        sources,
      },
    };
  }
}
