// The `titan` command: runs the gateway (`serve`) or drives a running one over its REST API.
// Each command family is a module in cli/; this file reads the command line and dispatches.
import { parseArgs } from 'node:util';
import { ApiError, GatewayUnreachableError, TitanClient } from './client.ts';
import { formatPools, formatTable } from './cli-format.ts';
import { OPTIONS } from './cli/args.ts';
import { dlqCommand } from './cli/dlq.ts';
import { eventsCommand, publishCommand, resultsCommand } from './cli/events.ts';
import { HELP } from './cli/help.ts';
import { invocationCommand, invokeCommand } from './cli/invoke.ts';
import { logsCommand } from './cli/logs.ts';
import { newCommand } from './cli/new.ts';
import { poolCommand } from './cli/pool.ts';
import { secretCommand } from './cli/secret.ts';
import { deployCommand, rmCommand } from './cli/deploy.ts';
import { UsageError } from './cli/usage.ts';

async function command(argv: string[]): Promise<void> {
  // For `logs`, `events` and `results`, -f is --follow (as in tail -f); everywhere else it is --file.
  if (['logs', 'events', 'results'].includes(argv[0]!))
    argv = argv.map((a) => (a === '-f' ? '--follow' : a));
  const { values, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
  });
  const [cmd = 'help', ...rest] = positionals;
  if (values.help || cmd === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const client = new TitanClient({
    url: process.env.TITAN_URL || undefined,
    token: process.env.TITAN_ADMIN_TOKEN || undefined,
  });
  switch (cmd) {
    case 'serve':
      await import('./main.ts');
      return;
    case 'list':
      process.stdout.write(formatTable(await client.listFunctions()));
      return;
    case 'invoke':
    case 'trigger':
      return invokeCommand(client, cmd, rest, values);
    case 'pools':
      process.stdout.write(formatPools(await client.listFunctions()));
      return;
    case 'pool':
      return poolCommand(client, rest, values);
    case 'invocation':
      return invocationCommand(client, rest);
    case 'publish':
      return publishCommand(client, rest, values);
    case 'dlq':
      return dlqCommand(client, rest, values);
    case 'logs':
      return logsCommand(client, rest, values);
    case 'events':
      return eventsCommand(client, rest, values);
    case 'results':
      return resultsCommand(client, rest, values);
    case 'secret':
      return secretCommand(client, rest, values);
    case 'deploy':
      return deployCommand(rest, values);
    case 'rm':
      return rmCommand(rest, values);
    case 'new':
      return newCommand(rest, values);
    default:
      throw new UsageError(`unknown command '${cmd}'`);
  }
}

/** Runs one command line; returns the exit status (never calls process.exit, so output is flushed). */
export async function main(argv: string[]): Promise<number> {
  try {
    await command(argv);
    return 0;
  } catch (err) {
    if (err instanceof ApiError) {
      process.stderr.write(`error: ${err.code}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof GatewayUnreachableError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    // parseArgs throws TypeErrors with codes like ERR_PARSE_ARGS_UNKNOWN_OPTION.
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof UsageError || code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`error: ${(err as Error).message} (see \`titan help\`)\n`);
      return 2;
    }
    throw err;
  }
}
