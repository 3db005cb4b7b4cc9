// `titan dlq [list]` and `titan dlq replay <id>`: the dead-letter queue.
import type { TitanClient } from '../client.ts';
import type { Values } from './args.ts';
import { arity, print, UsageError } from './usage.ts';

export async function dlqCommand(
  client: TitanClient,
  rest: string[],
  values: Values,
): Promise<void> {
  const [sub, ...args] = rest;
  if (sub === 'list' || sub === undefined) {
    const count = values.count === undefined ? 100 : Number(values.count);
    if (!Number.isInteger(count) || count < 1)
      throw new UsageError(`--count must be a positive integer (got ${values.count})`);
    print(await client.dlqList(count));
  } else if (sub === 'replay') {
    arity('dlq replay', args, ['id']);
    print(await client.dlqReplay(args[0]));
  } else throw new UsageError(`dlq takes list or replay (got ${sub ?? 'nothing'})`);
}
