// A container's stdout and stderr as it writes them, from an attach made before it started. Nothing
// is missed and nothing depends on the engine's log files, which are rotated (sandbox.log_max_size):
// a follower of a rotating log file loses lines (12,233 of 40,000 arrived with 256 KiB files, 32,219
// with 5 MiB ones, measured on this engine). Until someone follows, frames wait in a bounded buffer;
// past it they are dropped, so a container nobody follows is never held up by an unread stream.
import { Writable } from 'node:stream';
import type { ContainerLogLine, LogFollow } from './engine.ts';
import { LogLineSplitter } from './log-lines.ts';

type Kind = ContainerLogLine['stream'];
type Demux = (stream: NodeJS.ReadableStream, stdout: Writable, stderr: Writable) => void;

/** Output written before anyone follows that is kept for them (a crash at start is in there). */
const MAX_PENDING_BYTES = 1024 * 1024;

export class AttachedOutput {
  readonly ended: Promise<void>;
  private done!: () => void;
  private pending: Array<[Kind, Buffer]> = [];
  private pendingBytes = 0;
  private splitters?: Record<Kind, LogLineSplitter>;
  private stopped = false;
  private finished = false;

  constructor(
    private readonly stream: NodeJS.ReadableStream & { destroy(): void },
    demux: Demux,
  ) {
    this.ended = new Promise((resolve) => (this.done = resolve));
    const sink = (kind: Kind) =>
      new Writable({
        write: (frame: Buffer, _enc, cb) => {
          this.frame(kind, frame);
          cb();
        },
      });
    demux(stream, sink('stdout'), sink('stderr'));
    const finish = () => this.finish();
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  }

  /** Every line from the container's start, then each as written, until it is removed or stopped. */
  follow(onLine: (line: ContainerLogLine) => void): LogFollow {
    // An attached stream carries no timestamps: a line's time is when it arrived here.
    this.splitters = {
      stdout: new LogLineSplitter('stdout', onLine, Date.now, false),
      stderr: new LogLineSplitter('stderr', onLine, Date.now, false),
    };
    for (const [kind, frame] of this.pending) this.splitters[kind].frame(frame);
    this.pending = [];
    if (this.finished) this.endLines();
    return {
      stop: () => {
        this.stopped = true;
        this.stream.destroy();
      },
      ended: this.ended,
    };
  }

  /** Stop reading (a start that failed). */
  close(): void {
    this.stopped = true;
    this.stream.destroy();
  }

  private frame(kind: Kind, frame: Buffer): void {
    if (this.stopped) return;
    if (this.splitters) {
      this.splitters[kind].frame(frame);
      return;
    }
    if (this.pendingBytes + frame.length > MAX_PENDING_BYTES) return;
    this.pending.push([kind, frame]);
    this.pendingBytes += frame.length;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.splitters) this.endLines();
    this.done();
  }

  /** The stream ended: a last line without a newline still counts. */
  private endLines(): void {
    if (this.stopped) return;
    for (const s of Object.values(this.splitters!)) s.end();
  }
}
