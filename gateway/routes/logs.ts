// Containers' output: one invocation's lines, a function's recent lines, and a live follow over
// server-sent events. Lines reach the store through the engine's log stream, a few milliseconds
// after the container wrote them, so they can arrive after the invocation's response.
import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import * as v from 'valibot';
import { TitanError } from '../../runtime/errors.ts';
import type { LogLine, LogStore } from '../../runtime/logs.ts';
import type { Registry } from '../../runtime/registry.ts';
import { problemsOf, strictObject, VALIDATION } from '../../runtime/schema-util.ts';
import { validateName } from '../invoke.ts';

export const MAX_TAIL = 10_000;

export const LogsQuery = strictObject({
  tail: v.optional(
    v.pipe(
      v.string(),
      v.regex(
        /^\d{1,9}$/,
        (i) => `must be an integer from 1 to ${MAX_TAIL} (got ${JSON.stringify(i.input)})`,
      ),
      v.transform(Number),
      v.minValue(1),
      v.maxValue(MAX_TAIL),
    ),
  ),
  follow: v.optional(v.picklist(['true', 'false'])),
});

export interface LogRoutesOptions {
  logs: LogStore;
  registry: Registry;
  /** an SSE comment this often keeps proxies from closing a quiet follow stream */
  keepAliveMs?: number;
  /** lines a slow follower may fall behind before the oldest are skipped */
  maxPending?: number;
}

export function logRoutes({
  logs,
  registry,
  keepAliveMs = 15_000,
  maxPending = 10_000,
}: LogRoutesOptions): Hono {
  const app = new Hono();

  app.get('/invocations/:id/logs', (c) => {
    const invocationId = c.req.param('id');
    const found = logs.invocation(invocationId);
    if (!found) {
      throw new TitanError(
        'not_found',
        `no log lines known for invocation '${invocationId}' (it logged nothing, its lines were dropped from the ring, or they are still on their way: they arrive a few ms after the response)`,
      );
    }
    return c.json({ invocationId, function: found.function, lines: found.lines });
  });

  app.get('/functions/:name/logs', (c) => {
    const name = c.req.param('name');
    validateName(name);
    const parsed = v.safeParse(LogsQuery, c.req.query(), VALIDATION);
    if (!parsed.success)
      throw new TitanError('invalid_request', problemsOf(parsed.issues).join('; '));
    // A removed function's lines stay readable while the gateway runs.
    if (!registry.has(name) && !logs.has(name))
      throw new TitanError('not_found', `no function named '${name}'`);
    const { tail, follow } = parsed.output;
    if (follow !== 'true') return c.json({ function: name, lines: logs.tail(name, tail) });
    return streamSSE(c, (stream) =>
      followLines(stream, logs, name, tail, { keepAliveMs, maxPending }),
    );
  });

  return app;
}

/** Sends the tail, then every new line, until the client goes away or the gateway closes. */
async function followLines(
  stream: SSEStreamingApi,
  logs: LogStore,
  name: string,
  tail: number | undefined,
  { keepAliveMs, maxPending }: { keepAliveMs: number; maxPending: number },
): Promise<void> {
  const pending: LogLine[] = [];
  let skipped = 0;
  let ended = false;
  let wake: (() => void) | undefined;
  // Subscribing and taking the tail in the same tick: no line is missed or sent twice.
  const unsubscribe = logs.subscribe(name, (line) => {
    if (!line) ended = true;
    else if (pending.push(line) > maxPending) {
      pending.shift();
      skipped++;
    }
    wake?.();
  });
  pending.push(...logs.tail(name, tail));
  stream.onAbort(() => {
    ended = true;
    wake?.();
  });
  const keepAlive = setInterval(() => void stream.write(': keep-alive\n\n'), keepAliveMs);
  try {
    while (!ended && !stream.aborted) {
      if (pending.length === 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      if (skipped) {
        await stream.write(`: ${skipped} lines skipped, the client fell behind\n\n`);
        skipped = 0;
      }
      for (const line of pending.splice(0)) await stream.writeSSE({ data: JSON.stringify(line) });
    }
  } finally {
    clearInterval(keepAlive);
    unsubscribe();
  }
}
