// The gateway under test in a process of its own (out of the load client's CPU), driven over IPC.
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { getHeapSpaceStatistics } from 'node:v8';
import type { RuntimeConfig } from '../../runtime/config.ts';
import { engineAt } from '../../runtime/engine/locate.ts';
import { Gateway } from '../../gateway/gateway.ts';
import { createLogger } from '../../gateway/logger.ts';

/** After a full GC: RSS and where it is (V8's heap, its new space, memory outside the heap). */
export interface MemoryFigures {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** committed to V8's young generation (semi-spaces): grows with the allocation rate, kept after */
  newSpace: number;
  external: number;
  arrayBuffers: number;
}

export type ToChild = { type: 'memory' } | { type: 'close' };
export type FromChild =
  | { type: 'ready'; port: number; redisUrl?: string; triggers: string }
  | ({ type: 'memory' } & MemoryFigures)
  | { type: 'failed'; message: string };

const send = (m: FromChild) => process.send?.(m);
const config = JSON.parse(process.env.TITAN_BENCH_CONFIG!) as RuntimeConfig;

// The shipped logger (gateway/logger.ts): level info (TITAN_LOG_LEVEL), a line per invocation, buffered.
const logger = createLogger({ name: 'titan-bench' });
const gw = new Gateway({
  config,
  engine: engineAt(process.env.DOCKER_HOST!),
  log: logger.log,
});

let closing: Promise<void> | undefined;
const close = () =>
  (closing ??= gw
    .close()
    .then(logger.flush)
    .finally(() => process.exit(0)));

process.on('message', (m: ToChild) => {
  if (m.type === 'close') void close();
  else if (m.type === 'memory') {
    (globalThis as { gc?: () => void }).gc?.(); // heapUsed after a full collection: what is retained
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    const newSpace =
      getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
    send({ type: 'memory', rss, heapUsed, heapTotal, newSpace, external, arrayBuffers });
  }
});
process.on('disconnect', () => void close()); // the benchmark died: leave no containers behind
// Ctrl-C reaches the whole process group: the parent decides when this gateway closes.
process.on('SIGINT', () => {});

try {
  await gw.start();
  await gw.registry.settled();
  // TITAN_BENCH_LISTENER=hono: Hono's listener alone, as before the invoke fast path, for A/B runs.
  const port =
    process.env.TITAN_BENCH_LISTENER === 'hono'
      ? await new Promise<number>((resolve) =>
          serve(
            { fetch: gw.app.fetch, hostname: config.gateway.host, port: config.gateway.port },
            (i: AddressInfo) => resolve(i.port),
          ),
        )
      : await gw.listen();
  const health = gw.events.health();
  send({ type: 'ready', port, redisUrl: health.redis, triggers: health.state });
} catch (err) {
  send({ type: 'failed', message: (err as Error).message });
  await close();
}
