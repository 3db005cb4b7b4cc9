// Scenario 5: deploy latency, from a folder appearing in the functions directory to its first 200.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from './context.ts';
import { removeFunction, stageFunction } from './fixture.ts';
import { waitUndeployed } from './gateway-api.ts';
import { KeepAliveClient } from './http-client.ts';
import { progress } from './progress.ts';
import { measurement, type Measurement } from './record.ts';
import { spread } from './stats.ts';

const POLL_MS = 5;
const LIMIT_MS = 30_000;

async function deployOnce(ctx: BenchContext): Promise<number> {
  const name = `dep-${randomBytes(3).toString('hex')}`;
  const commit = await stageFunction(ctx.bench, name, { pool: { min: 1, max: 1, concurrency: 1 } });
  const client = new KeepAliveClient({
    host: '127.0.0.1',
    port: ctx.gateway.port,
    path: `/functions/${name}/invoke`,
  });
  try {
    const t0 = performance.now();
    await commit();
    // 404 until the registry has seen the folder; from then on the call waits for the prewarm.
    for (;;) {
      const reply = await client.send('{}');
      if (reply.status === 200) return performance.now() - t0;
      if (reply.status !== 404)
        throw new Error(`deploy of ${name}: status ${reply.status}: ${reply.body.slice(0, 200)}`);
      if (performance.now() - t0 > LIMIT_MS)
        throw new Error(`deploy of ${name}: no successful call after ${LIMIT_MS} ms`);
      await sleep(POLL_MS);
    }
  } finally {
    client.close();
    await removeFunction(ctx.bench, name);
    await waitUndeployed(ctx, name);
  }
}

export async function deploy(ctx: BenchContext): Promise<Measurement[]> {
  const reps = ctx.sizes.deployReps;
  const ms: number[] = [];
  for (let rep = 0; rep <= reps; rep++) {
    progress(`deploy: ${rep === 0 ? 'warm-up' : `rep ${rep}/${reps}`}`);
    const t = await deployOnce(ctx);
    if (rep > 0) ms.push(t);
  }
  const raw = ctx.facts.rawStartMs;
  return [
    measurement({
      name: 'deploy: folder dropped -> first successful call',
      unit: 'ms',
      value: spread(ms),
      ...(raw
        ? { reference: { name: 'raw create + start + ready (cold scenario)', value: raw } }
        : {}),
      note: `polled every ${POLL_MS} ms; includes the folder watcher's 150 ms debounce`,
    }),
  ];
}
