// The gateway under test in a process of its own (out of the load client's CPU), driven over IPC.
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { RuntimeConfig } from '../../runtime/config.ts';
import { engineAt } from '../../runtime/engine/locate.ts';
import { Gateway } from '../../gateway/gateway.ts';
import { createLogger } from '../../gateway/logger.ts';

export type ToChild = { type: 'memory' } | { type: 'close' };
export type FromChild =
  | { type: 'ready'; port: number; redisUrl?: string; triggers: string }
  | { type: 'memory'; rss: number; heapUsed: number }
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
    const { rss, heapUsed } = process.memoryUsage();
    send({ type: 'memory', rss, heapUsed });
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
