// The gateway's logger as shipped: pino's JSON lines on stdout through an asynchronous, bounded
// buffer. A line per invocation then costs a string append, not a write(2) each: the buffer goes out
// when it holds MIN_WRITE bytes or every FLUSH_MS, and synchronously on a clean stop (flush()).
import pino, { type Logger } from 'pino';

/** Bytes gathered before a write(2): a few dozen access lines per system call under load. */
const MIN_WRITE = 4096;
/** A quiet gateway's lines still show within this long. */
const FLUSH_MS = 200;
/**
 * The bound: a stdout that stops draining (a stuck pipe reader) must not grow the gateway's memory
 * without limit. Past it lines are dropped, and counted (dropped()), rather than blocking invocations.
 */
const MAX_BUFFER = 16 * 1024 * 1024;

export interface LoggerOptions {
  name?: string;
  /** default: TITAN_LOG_LEVEL, else `info` (a line per invocation) */
  level?: string;
  /** default: 1 (stdout) */
  fd?: number;
  maxBuffer?: number;
}

export interface GatewayLogger {
  log: Logger;
  /** Write out whatever is buffered, the write under way included: await it before process.exit. */
  flush(): Promise<void>;
  /** lines dropped because the buffer was full */
  dropped(): number;
  /** Flush, stop the periodic flush and close the fd (never stdout or stderr). */
  close(): Promise<void>;
}

export function createLogger({
  name = 'titan',
  level = process.env.TITAN_LOG_LEVEL ?? 'info',
  fd = 1,
  maxBuffer = MAX_BUFFER,
}: LoggerOptions = {}): GatewayLogger {
  const dest = pino.destination({
    dest: fd,
    sync: false,
    minLength: Math.min(MIN_WRITE, maxBuffer - 1),
    maxLength: maxBuffer,
    periodicFlush: FLUSH_MS,
  });
  let dropped = 0;
  dest.on('drop', () => dropped++);
  return {
    log: pino({ name, level }, dest),
    // Asynchronously first: a write(2) already handed to libuv's thread pool could be cut short by
    // process.exit, and flushSync alone would write the lines after it first. Then whatever came since.
    flush: () =>
      new Promise<void>((resolve) => dest.flush(() => resolve())).then(() => dest.flushSync()),
    dropped: () => dropped,
    close: () =>
      new Promise<void>((resolve) => {
        dest.once('close', () => resolve());
        dest.end();
      }),
  };
}
