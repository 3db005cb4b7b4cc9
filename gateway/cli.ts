// The `titan` command: runs the gateway (`serve`) or drives a running one over its REST API.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  ApiError,
  DEFAULT_GATEWAY_URL,
  GatewayUnreachableError,
  TitanClient,
  type PoolUpdate,
} from './client.ts';
import { formatLogLine, formatPools, formatTable } from './cli-format.ts';
import { eventsCommand, resultsCommand } from './cli/events.ts';
import { newCommand } from './cli/new.ts';
import { secretCommand } from './cli/secret.ts';
import { deployCommand, rmCommand } from './cli/deploy.ts';
import { UsageError } from './cli/usage.ts';

const HELP = `Usage: titan <command> [options]

Commands:
  serve                          run the gateway in the foreground (same as \`npm start\`)
  list                           the deployed functions and their pools
  pools                          warm pools: knobs, state, queue, cold starts, queue wait p50/p99
  pool <name> [--min N] [--max N] [--concurrency N] [--idle-sec N] [--reset]
                                 change a pool's knobs live (kept across restarts) or reset them
  invoke <name> [-d JSON | -f FILE] [-v]
                                 invoke a function and print its result; -f - reads stdin
  trigger <name> -e JSON         the same as invoke (kept from the original plugin tool)
  invoke <name> --async ...      queue the invocation; prints its id
  invocation <id>                status and result of an async invocation
  publish <topic> <type> [-d JSON]
                                 append an event to a topic
  dlq [list] [--count N]         dead-lettered entries, newest first
  dlq replay <id>                put a dead-lettered entry back on its function's queue
  logs <name> [-f] [--tail N]    a function's recent output (its containers' stdout and stderr),
                                 as time, stream, invocation id prefix, text; -f follows new lines
  logs --invocation <id>         the lines one invocation wrote
  events tail <topic> [--count N] [-f]
                                 a topic's newest events (default 10), oldest first; -f follows
  results [--count N] [-f]       the results stream (each event invocation's outcome), the same way
  secret set <name> [--file F]   set a secret from stdin (or a file), as bytes: \`printf %s "$V" | titan secret set x\`
  secret ls                      secret names and when each was set (never values)
  secret rm <name>               remove a secret; functions naming it roll (and fail to deploy)
  new <name> [--runtime node|typescript|python] [--dir D]
                                 write a working function folder D/<name> (default: the current directory)
  deploy <folder> [--gateway URL] [--token T]
                                 upload a function folder; ends once the gateway has deployed it
  rm <name> [--gateway URL] [--token T]
                                 remove a function (its folder) from the gateway
  help                           this text

Options:
  -d, --data JSON    the event, as JSON text
  -e, --event JSON   the same as --data
  -f, --file FILE    read the event from FILE (- for stdin)
  -v, --verbose      print the invocation id and whether it was a cold start to stderr
      --async        queue the invocation instead of waiting for it
      --count N      how many DLQ entries to list (default 100)
      --tail N       only the last N log lines (1 to 10000; default all that are kept)
  -f, --follow       (logs) keep printing new lines until interrupted
      --invocation ID  (logs) the lines of one invocation
      --runtime R    (new) node (default), typescript or python
      --dir D        (new) where to create the folder

Environment:
  TITAN_URL          the gateway (default ${DEFAULT_GATEWAY_URL})
  TITAN_ADMIN_TOKEN  sent as a bearer token when set

Exit status: 0 on success, 1 when the gateway reports an error or cannot be reached, 2 for usage errors.
`;

const OPTIONS = {
  data: { type: 'string', short: 'd' },
  event: { type: 'string', short: 'e' },
  file: { type: 'string', short: 'f' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  async: { type: 'boolean' },
  count: { type: 'string' },
  min: { type: 'string' },
  max: { type: 'string' },
  concurrency: { type: 'string' },
  'idle-sec': { type: 'string' },
  reset: { type: 'boolean' },
  follow: { type: 'boolean' },
  tail: { type: 'string' },
  invocation: { type: 'string' },
  runtime: { type: 'string' },
  dir: { type: 'string' },
  gateway: { type: 'string' },
  token: { type: 'string' },
} as const;

type Values = {
  data?: string;
  event?: string;
  file?: string;
  verbose?: boolean;
  help?: boolean;
  async?: boolean;
  count?: string;
  min?: string;
  max?: string;
  concurrency?: string;
  'idle-sec'?: string;
  reset?: boolean;
  follow?: boolean;
  tail?: string;
  invocation?: string;
  runtime?: string;
  dir?: string;
  gateway?: string;
  token?: string;
};

function poolUpdate(v: Values): PoolUpdate {
  const out: PoolUpdate = {};
  for (const [flag, key] of [
    ['min', 'min'],
    ['max', 'max'],
    ['concurrency', 'concurrency'],
    ['idle-sec', 'idle_sec'],
  ] as const) {
    const raw = v[flag];
    if (raw === undefined) continue;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n))
      throw new UsageError(`--${flag} takes a number (got ${JSON.stringify(raw)})`);
    out[key] = n;
  }
  return out;
}

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

function arity(cmd: string, rest: string[], names: string[]): void {
  if (rest.length !== names.length)
    throw new UsageError(
      `${cmd} takes ${names.map((n) => `<${n}>`).join(' ')} (got ${rest.length} arguments)`,
    );
}

/** The event as JSON text, checked here so a typo never reaches the gateway. */
async function eventBody(v: Values): Promise<string> {
  const given = (['data', 'event', 'file'] as const).filter((k) => v[k] !== undefined);
  if (given.length > 1)
    throw new UsageError(`give the event once (got ${given.map((k) => `--${k}`).join(' and ')})`);
  if (given.length === 0) return '';
  const from = given[0] === 'file' ? (v.file === '-' ? 'stdin' : v.file!) : `--${given[0]}`;
  const text =
    given[0] !== 'file'
      ? v[given[0]]!
      : v.file === '-'
        ? await readStdin()
        : await readEventFile(v.file!);
  try {
    JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the event from ${from} is not valid JSON: ${(err as Error).message}`);
  }
  return text;
}

async function readEventFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

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
    case 'trigger': {
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
      return;
    }
    case 'pools':
      process.stdout.write(formatPools(await client.listFunctions()));
      return;
    case 'pool': {
      arity(cmd, rest, ['name']);
      const update = poolUpdate(values);
      if (values.reset && Object.keys(update).length)
        throw new UsageError('--reset takes no other knob');
      if (!values.reset && !Object.keys(update).length)
        throw new UsageError(
          'give at least one of --min --max --concurrency --idle-sec, or --reset',
        );
      const fn = values.reset
        ? await client.resetPool(rest[0])
        : await client.setPool(rest[0], update);
      process.stdout.write(formatPools([fn]));
      return;
    }
    case 'invocation':
      arity(cmd, rest, ['id']);
      print(await client.invocation(rest[0]));
      return;
    case 'publish':
      arity(cmd, rest, ['topic', 'type']);
      process.stdout.write(`${await client.publish(rest[0], rest[1], await eventBody(values))}\n`);
      return;
    case 'dlq': {
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
      return;
    }
    case 'logs': {
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
      else
        process.stdout.write(
          (await client.functionLogs(rest[0], tail)).map(formatLogLine).join(''),
        );
      return;
    }
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
