// Leaves nothing behind, even after a failure or Ctrl-C: gateway, own containers, Redis keys, directory.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { redisOptionsFromUrl } from '../../gateway/events/redis.ts';
import type { BenchContext } from './context.ts';

/** Label on every container the benchmark starts itself (raw references, `docker run`). */
export const BENCH_LABEL = 'titan.bench';

const running = new WeakMap<BenchContext, Promise<void>>();

export function cleanup(ctx: BenchContext): Promise<void> {
  let p = running.get(ctx);
  if (!p) {
    p = (async () => {
      const steps = [
        () => ctx.gateway.close(),
        async () => {
          const mine = await ctx.engine.listByLabels({ [BENCH_LABEL]: ctx.runId });
          await Promise.all(mine.map((c) => ctx.engine.remove(c.id)));
        },
        () => deleteKeys(ctx.gateway.redisUrl, ctx.bench.keyPrefix),
        // retried: after Ctrl-C a scenario may still be writing into it for a moment
        () => rm(ctx.bench.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }),
      ];
      // Every step runs even when an earlier one fails.
      for (const step of steps)
        await step().catch((err) => process.stderr.write(`cleanup: ${(err as Error).message}\n`));
    })();
    running.set(ctx, p);
  }
  return p;
}

/** SCAN + DEL of every key under the run's prefix; bounded, the shared Redis is someone else's too. */
async function deleteKeys(url: string | undefined, prefix: string): Promise<void> {
  if (!url) return;
  const options = redisOptionsFromUrl(url);
  // A gateway's own Redis (no REDIS_URL) stopped with the gateway: its socket, and every key, are gone.
  if (options.path && !existsSync(options.path)) return;
  const redis = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {}); // a failure is connect()'s or a command's rejection below
  try {
    await redis.connect();
    let cursor = '0';
    for (let i = 0; i < 10_000; i++) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
}
