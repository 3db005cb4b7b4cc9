// How scenarios inspect the gateway under test: function status, (un)deploy waits, its containers.
import { setTimeout as sleep } from 'node:timers/promises';
import { scopeOf } from '../../gateway/gateway.ts';
import { LABEL } from '../../runtime/sandbox.ts';
import type { BenchContext } from './context.ts';

/** Poll until `check` returns a truthy value; throws after `ms` with `what` in the message. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
  everyMs = 20,
): Promise<T> {
  const until = performance.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (performance.now() > until) throw new Error(`${what}: not after ${ms} ms`);
    await sleep(everyMs);
  }
}

export async function functionStatus(ctx: BenchContext, name: string): Promise<string | undefined> {
  const res = await fetch(`${ctx.gateway.url}/functions/${name}`);
  if (res.status === 404) return undefined;
  return ((await res.json()) as { status: string }).status;
}

export const containersOf = (ctx: BenchContext, fn: string) =>
  ctx.engine.listByLabels({ [LABEL.scope]: scopeOf(ctx.bench.config.stateDir), [LABEL.fn]: fn });

/** Gone from the listing and every container removed. */
export async function waitUndeployed(ctx: BenchContext, name: string): Promise<void> {
  await waitFor(
    `undeploy of ${name}`,
    async () =>
      (await functionStatus(ctx, name)) === undefined &&
      (await containersOf(ctx, name)).length === 0,
    30_000,
    50,
  );
}

/**
 * The id of the function's only container. Its socket is the gateway's own listening socket now (the
 * container dials in), so nothing but the gateway can call it: the direct reference is a container
 * of the bench's own (direct.ts).
 */
export async function containerOf(ctx: BenchContext, fn: string): Promise<string> {
  const list = await containersOf(ctx, fn);
  if (list.length !== 1) throw new Error(`expected one container for ${fn}, found ${list.length}`);
  return list[0]!.id;
}

/** The body the gateway sends a container for an HTTP call with event `{}` (the bootstrap's protocol). */
export function containerInvokeBody(invocationId: string): string {
  const context = { invocationId, deadline: Date.now() + 60_000, trigger: { kind: 'http' } };
  return `{"event":{},"context":${JSON.stringify(context)}}`;
}
