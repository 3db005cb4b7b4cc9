// `titan help`: every command and option in one screen.
import { DEFAULT_GATEWAY_URL } from '../client.ts';

export const HELP = `Usage: titan <command> [options]

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
