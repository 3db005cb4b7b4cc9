// Reading a stream for people and scripts (`titan events tail`, `titan results`): the newest N
// entries oldest first, or those after a given id (to follow). Read-only: no consumer group, no ack,
// so looking never takes an event from a function.
import type { RedisClient } from './redis.ts';
import { TitanError } from '../../runtime/errors.ts';
import { fieldsToRecord } from './event.ts';

export type StreamEntry = Record<string, string> & { id: string };

/** A stream entry id as Redis writes them: `<ms>-<seq>`. */
export const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
export const MAX_TAIL = 1000;

/** `count` and `after` from a query, checked: 1 to MAX_TAIL entries (default 10), `after` an entry id. */
export function tailQuery(
  count: string | undefined,
  after: string | undefined,
): { count: number; after?: string } {
  const n = count === undefined ? 10 : Number(count);
  if (!Number.isInteger(n) || n < 1 || n > MAX_TAIL) {
    throw new TitanError(
      'invalid_request',
      `count must be an integer from 1 to ${MAX_TAIL} (got ${JSON.stringify(String(count).slice(0, 40))})`,
    );
  }
  if (after !== undefined && !STREAM_ID.test(after)) {
    throw new TitanError(
      'invalid_request',
      `after must be a stream entry id such as 1700000000000-0 (got ${JSON.stringify(after.slice(0, 40))})`,
    );
  }
  return { count: n, ...(after !== undefined ? { after } : {}) };
}

export async function readTail(
  redis: RedisClient,
  key: string,
  { count, after }: { count: number; after?: string },
): Promise<StreamEntry[]> {
  const raw = (
    after
      ? await redis.xrange(key, `(${after}`, '+', 'COUNT', count)
      : (await redis.xrevrange(key, '+', '-', 'COUNT', count)).reverse()
  ) as Array<[string, string[]]>;
  return raw.map(([id, flat]) => ({ ...fieldsToRecord(flat), id }));
}
