// `titan invoke` (and its alias `trigger`), `--async`, and `titan invocation <id>`: calling a function.
import type { TitanClient } from '../client.ts';
import type { Values } from './args.ts';
import { eventBody } from './event-body.ts';
import { arity, print, UsageError } from './usage.ts';

export async function invokeCommand(
  client: TitanClient,
  cmd: string,
  rest: string[],
  values: Values,
): Promise<void> {
  if (rest.length !== 1)
    throw new UsageError(`${cmd} takes one function name (got ${rest.length})`);
  const body = await eventBody(values);
  if (values.async) {
    process.stdout.write(`${await client.invokeAsync(rest[0], body)}\n`);
    return;
  }
  const out = await client.invoke(rest[0], body);
  if (values.verbose)
    process.stderr.write(
      `x-invocation-id: ${out.invocationId ?? '-'}\nx-cold-start: ${out.coldStart ?? '-'}\n`,
    );
  process.stdout.write(`${JSON.stringify(out.result, null, 2)}\n`);
}

export async function invocationCommand(client: TitanClient, rest: string[]): Promise<void> {
  arity('invocation', rest, ['id']);
  print(await client.invocation(rest[0]));
}
