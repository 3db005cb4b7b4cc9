// Throughput at N keep-alive connections: a closed loop of HTTP/1.1 requests written straight to the
// socket, one in flight per connection, bounded by time and by count. One tool for every side: TCP to
// the gateway and the proxy, the connections a container dialed in for the direct reference.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DialInAgent } from '../../runtime/dial-in.ts';
import { cpuMs } from './proc.ts';

export type LoadTarget = {
  path: string;
  body: string;
  /** a process whose CPU time is read at the edges of the measured window */
  pid?: number;
} & ({ host: string; port: number } | { agent: DialInAgent });

export interface LoadPhases {
  /** at full concurrency and not counted; starts once every connection is open */
  warmupSec: number;
  sec: number;
  /** the measured window ends after this many successful calls if that comes before `sec` */
  maxRequests: number;
}

export interface LoadResult {
  /** successful (200) calls per second in the measured window */
  rps: number;
  ok: number;
  seconds: number;
  /** every successful call, warm-up and the window's tail included */
  calls: number;
  /** CPU ms `target.pid` used in the window */
  cpuMs?: number;
}

/** A request without an answer for this long fails the run (autocannon's `timeout: 10` before). */
const ANSWER_TIMEOUT_MS = 10_000;
const OPEN_TIMEOUT_MS = 10_000;
const MAX_HEAD_BYTES = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)/i;

export const describeTarget = (t: LoadTarget): string =>
  'agent' in t ? `dial-in:${t.agent.socketPath}${t.path}` : `http://${t.host}:${t.port}${t.path}`;

export async function load(
  target: LoadTarget,
  connections: number,
  phases: LoadPhases,
): Promise<LoadResult> {
  const run = new LoadRun(target, phases.maxRequests);
  const timers = new AbortController();
  try {
    // Each connection starts its loop as soon as it is open: the container dials its next connection
    // only once a call arrived on the idle one.
    const opened = Promise.all(
      Array.from({ length: connections }, async () => run.add(await open(target))),
    );
    await Promise.race([
      opened.catch((err: Error) =>
        Promise.reject(new Error(`${err.message}, ${run.open} of ${connections} open`)),
      ),
      run.failed,
    ]);
    await Promise.race([
      sleep(phases.warmupSec * 1000, undefined, { signal: timers.signal }),
      run.failed,
    ]);
    run.startWindow();
    await Promise.race([
      sleep(phases.sec * 1000, undefined, { signal: timers.signal }),
      run.windowFull,
      run.failed,
    ]);
    run.endWindow();
    await Promise.race([run.drained, run.failed]);
    return run.result();
  } finally {
    timers.abort();
    run.close();
  }
}

/** One TCP connection, or the next connection the container dials in. */
function open(target: LoadTarget): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(
        new Error(
          `${describeTarget(target)}: no ${'agent' in target ? 'dialed-in ' : ''}connection after ${OPEN_TIMEOUT_MS} ms`,
        ),
      );
    }, OPEN_TIMEOUT_MS);
    const opened = (err: Error | null, s?: Duplex) => {
      clearTimeout(timer);
      if (late) s?.destroy();
      else if (err || !s) reject(err ?? new Error('no connection'));
      else resolve(s);
    };
    if ('agent' in target) {
      const s = target.agent.createConnection({}, opened);
      if (s) opened(null, s);
      return;
    }
    const s = connect({ host: target.host, port: target.port, noDelay: true });
    s.once('connect', () => opened(null, s));
    s.once('error', (err) => opened(err));
  });
}

class LoadRun {
  readonly request: Buffer;
  readonly failed: Promise<never>;
  readonly windowFull: Promise<void>;
  readonly drained: Promise<void>;
  private fail!: (err: Error) => void;
  private full!: () => void;
  private drain!: () => void;
  private readonly conns: Conn[] = [];
  private readonly watchdog: NodeJS.Timeout;
  private closed = false;
  private stopping = false;
  private start?: number;
  private end?: number;
  private cpuStart = 0;
  private cpuEnd = 0;
  private ok = 0;
  private calls = 0;

  constructor(
    readonly target: LoadTarget,
    private readonly maxRequests: number,
  ) {
    const host = 'agent' in target ? 'localhost' : `${target.host}:${target.port}`;
    const body = Buffer.from(target.body);
    const head = `POST ${target.path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    this.request = Buffer.concat([Buffer.from(head, 'latin1'), body]);
    this.failed = new Promise<never>((_, reject) => (this.fail = reject));
    this.failed.catch(() => {});
    this.windowFull = new Promise((resolve) => (this.full = resolve));
    this.drained = new Promise((resolve) => (this.drain = resolve));
    // One timer for every connection, rather than one per request, which the loop would pay for.
    this.watchdog = setInterval(() => {
      const now = performance.now();
      if (this.conns.some((c) => c.sentAt && now - c.sentAt > ANSWER_TIMEOUT_MS))
        this.error(`a request got no answer within ${ANSWER_TIMEOUT_MS} ms`);
    }, 1000);
  }

  add(sock: Duplex): void {
    if (this.closed) return void sock.destroy();
    const c = new Conn(sock, this);
    this.conns.push(c);
    if (!this.stopping) c.send();
  }

  error(why: string): void {
    if (!this.closed)
      this.fail(
        new Error(`${describeTarget(this.target)}: ${why} (${this.open} connections open)`),
      );
  }

  answered(c: Conn): void {
    this.calls++;
    if (this.start !== undefined && this.end === undefined && ++this.ok >= this.maxRequests)
      this.full();
    if (!this.stopping) c.send();
    else if (this.conns.every((x) => !x.sentAt)) this.drain();
  }

  startWindow(): void {
    if (this.target.pid) this.cpuStart = cpuMs(this.target.pid);
    this.start = performance.now();
  }

  /** Stop counting and sending; the calls in flight are answered but not counted. */
  endWindow(): void {
    this.end = performance.now();
    if (this.target.pid) this.cpuEnd = cpuMs(this.target.pid);
    this.stopping = true;
    if (this.conns.every((x) => !x.sentAt)) this.drain();
  }

  get open(): number {
    return this.conns.length;
  }

  get isStopping(): boolean {
    return this.stopping || this.closed;
  }

  result(): LoadResult {
    const seconds = (this.end! - this.start!) / 1000;
    return {
      rps: this.ok / seconds,
      ok: this.ok,
      seconds,
      calls: this.calls,
      ...(this.target.pid ? { cpuMs: this.cpuEnd - this.cpuStart } : {}),
    };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watchdog);
    for (const c of this.conns) c.destroy();
  }
}

/** One connection's loop: send the request, read one answer (status line, content-length, body), repeat. */
class Conn {
  /** when the request in flight was sent; 0 when none is */
  sentAt = 0;
  private pending?: Buffer;

  constructor(
    private readonly sock: Duplex,
    private readonly run: LoadRun,
  ) {
    sock.on('data', (chunk: Buffer) => this.read(chunk));
    sock.on('error', (err) => run.error(`connection error: ${err.message}`));
    sock.on('close', () => {
      if (this.sentAt || !run.isStopping) run.error('the server closed a connection');
    });
  }

  send(): void {
    this.sentAt = performance.now();
    this.sock.write(this.run.request);
  }

  destroy(): void {
    this.sock.destroy();
  }

  private read(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    const headEnd = buf.indexOf(HEAD_END);
    if (headEnd === -1) {
      if (buf.length > MAX_HEAD_BYTES) {
        this.run.error(`an answer's head is over ${MAX_HEAD_BYTES} bytes`);
        return;
      }
      this.pending = buf;
      return;
    }
    const head = buf.toString('latin1', 0, headEnd);
    const length = CONTENT_LENGTH.exec(head);
    if (!length) {
      this.run.error(`an answer without content-length: ${head.slice(0, 200)}`);
      return;
    }
    const end = headEnd + HEAD_END.length + Number(length[1]);
    if (buf.length < end) {
      this.pending = buf;
      return;
    }
    if (buf.length > end || !this.sentAt) {
      this.run.error('more than one answer to one request');
      return;
    }
    this.sentAt = 0;
    // A non-200 answer fails the run: a fast error is not a fast call.
    const status = Number(head.slice(9, 12));
    if (status !== 200) {
      this.run.error(
        `answered ${status}: ${buf.toString('utf8', headEnd + 4, Math.min(end, headEnd + 204))}`,
      );
      return;
    }
    this.run.answered(this);
  }
}
