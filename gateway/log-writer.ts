// The access log's destination: lines kept as they come and written in batches, one write(2) per
// batch on libuv's thread pool. A line costs an array push. (pino's sonic-boom appends each line to
// its pending string and measures that string's UTF-8 length on every write: it flattens and copies
// up to 16 KiB per line, 6-8 µs a line under load and the young garbage that goes with it.)
import { closeSync, write, writeSync } from 'node:fs';

export interface LineWriterOptions {
  fd: number;
  /** bytes gathered before a write starts */
  minLength: number;
  /** bytes buffered or being written past which lines are dropped (and counted) */
  maxLength: number;
  /** whatever is buffered is written at least this often */
  flushMs: number;
}

/** A stdout that is a full non-blocking pipe says so; the write is tried again after a beat. */
const RETRY_MS = 50;

export class LineWriter {
  dropped = 0;
  private lines: string[] = [];
  /** bytes in `lines` plus the write under way */
  private bytes = 0;
  private writing = false;
  private closed = false;
  private idle: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: LineWriterOptions) {
    this.timer = setInterval(() => this.startWrite(), opts.flushMs).unref();
  }

  /** pino's destination interface: one whole line (or several) per call. */
  write(line: string): boolean {
    const n = Buffer.byteLength(line);
    if (this.closed || this.bytes + n > this.opts.maxLength) {
      this.dropped++;
      return false;
    }
    this.lines.push(line);
    this.bytes += n;
    if (!this.writing && this.bytes >= this.opts.minLength) this.startWrite();
    return true;
  }

  /**
   * Resolves once every line written before the call is out (or dropped by a broken fd). `done`:
   * pino's `logger.flush(cb)` hands its callback to the destination's flush.
   */
  flush(done?: () => void): Promise<void> {
    const out =
      !this.writing && this.lines.length === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.idle.push(resolve);
            this.startWrite();
          });
    if (done) void out.then(done);
    return out;
  }

  /** Synchronously, what is buffered; a write already under way finishes on its own. */
  flushSync(): void {
    if (this.writing || this.lines.length === 0) return;
    const data = Buffer.from(this.take());
    try {
      for (let off = 0; off < data.length; ) off += writeSync(this.opts.fd, data, off);
    } catch {
      this.dropLost(data, 0);
    }
    this.bytes -= data.length;
  }

  /** Flush, stop, and close the fd (never stdin, stdout or stderr). */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    clearInterval(this.timer);
    if (this.opts.fd > 2) closeSync(this.opts.fd);
  }

  private take(): string {
    const text = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    return text;
  }

  private startWrite(): void {
    if (this.writing) return;
    if (this.lines.length === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    this.writing = true;
    this.writeOut(Buffer.from(this.take()), 0);
  }

  private writeOut(data: Buffer, off: number): void {
    write(this.opts.fd, data, off, data.length - off, null, (err, n) => {
      if (err && (err.code === 'EAGAIN' || err.code === 'EBUSY')) {
        setTimeout(() => this.writeOut(data, off), RETRY_MS).unref();
        return;
      }
      if (!err && off + n < data.length) return this.writeOut(data, off + n);
      // A broken stdout (EPIPE, EBADF) loses these lines, counted; invocations go on.
      if (err) this.dropLost(data, off);
      this.bytes -= data.length;
      this.writing = false;
      if (this.bytes >= this.opts.minLength || this.idle.length > 0) this.startWrite();
    });
  }

  /** The lines of a failed write, counted as dropped by their newlines. */
  private dropLost(data: Buffer, off: number): void {
    for (let i = off; i < data.length; i++) if (data[i] === 0x0a) this.dropped++;
  }
}
