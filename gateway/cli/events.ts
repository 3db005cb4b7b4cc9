// `titan publish`, `titan events tail <topic>`, `titan results`: an event in; a stream's newest entries,
// and with -f the new ones as they arrive (polled through GET /events/:topic?after=<id>, read-only: no
// event is consumed).
import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamEntry, TitanClient } from '../client.ts';
import type { Values } from './args.ts';
import { eventBody } from './event-body.ts';
import { arity, countOption, UsageError } from './usage.ts';

/** How often -f asks for entries after the last one shown. */
const FOLLOW_POLL_MS = 500;

export interface StreamOptions {
  count?: string;
  follow?: boolean;
  /** stops -f (tests); the CLI runs until interrupted */
  signal?: AbortSignal;
}

export async function publishCommand(
  client: TitanClient,
  rest: string[],
  values: Values,
): Promise<void> {
  arity('publish', rest, ['topic', 'type']);
  process.stdout.write(`${await client.publish(rest[0], rest[1], await eventBody(values))}\n`);
}

export async function eventsCommand(
  client: TitanClient,
  args: string[],
  opts: StreamOptions,
): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'tail') throw new UsageError(`events takes tail <topic> (got ${sub ?? 'nothing'})`);
  if (rest.length !== 1)
    throw new UsageError(`events tail takes one topic (got ${rest.length} arguments)`);
  const topic = rest[0]!;
  await show((q) => client.topicEntries(topic, q), opts);
}

export async function resultsCommand(
  client: TitanClient,
  args: string[],
  opts: StreamOptions,
): Promise<void> {
  if (args.length) throw new UsageError('results takes no arguments (--count N, -f)');
  await show((q) => client.results(q), opts);
}

async function show(
  read: (q: { count?: number; after?: string }) => Promise<StreamEntry[]>,
  opts: StreamOptions,
): Promise<void> {
  const count = countOption(opts.count, 10);
  let entries = await read({ count });
  for (;;) {
    for (const e of entries) process.stdout.write(formatEntry(e));
    if (!opts.follow) return;
    const last = entries.at(-1)?.id;
    do {
      try {
        await sleep(FOLLOW_POLL_MS, undefined, { signal: opts.signal });
      } catch {
        return; // aborted
      }
      // Before the first entry exists, "after 0-0" is every entry.
      entries = await read({ count: 1000, after: last ?? '0-0' });
    } while (entries.length === 0);
  }
}

/** One line per entry: its id, then its fields as one JSON object, `data` parsed when it is JSON. */
export function formatEntry(e: StreamEntry): string {
  const { id, ...fields } = e;
  const shown: Record<string, unknown> = { ...fields };
  for (const k of ['data', 'result', 'error']) {
    if (typeof fields[k] !== 'string') continue;
    try {
      shown[k] = JSON.parse(fields[k]!);
    } catch {
      // not JSON: shown as the text it is
    }
  }
  return `${id} ${JSON.stringify(shown)}\n`;
}
