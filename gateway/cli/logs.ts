// `titan logs <name> [-f] [--tail N]` and `titan logs --invocation <id>`: containers' output.
import type { TitanClient } from '../client.ts';
import { formatLogLine } from '../cli-format.ts';
import type { Values } from './args.ts';
import { arity, UsageError } from './usage.ts';

export async function logsCommand(
  client: TitanClient,
  rest: string[],
  values: Values,
): Promise<void> {
  const cmd = 'logs';
  if (values.invocation !== undefined) {
    if (rest.length || values.follow || values.tail !== undefined)
      throw new UsageError('logs --invocation <id> takes no function name, --tail or -f');
    process.stdout.write(
      (await client.invocationLogs(values.invocation)).lines.map(formatLogLine).join(''),
    );
    return;
  }
  arity(cmd, rest, ['name']);
  const tail = values.tail === undefined ? undefined : Number(values.tail);
  if (tail !== undefined && !(Number.isInteger(tail) && tail >= 1 && tail <= 10_000)) {
    throw new UsageError(`--tail must be an integer from 1 to 10000 (got ${values.tail})`);
  }
  if (values.follow)
    await client.followLogs(rest[0], (line) => process.stdout.write(formatLogLine(line)), {
      tail,
    });
  else process.stdout.write((await client.functionLogs(rest[0], tail)).map(formatLogLine).join(''));
  return;
}
