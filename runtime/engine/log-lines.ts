// Turns the frames of one container output stream into lines. With timestamps on, an engine sends
// one frame per log message, `<RFC 3339 time> <text>`; a line may span several messages (the engine
// splits lines longer than 16 KiB) and a message may end without a newline.
import { StringDecoder } from 'node:string_decoder';
import type { ContainerLogLine } from './engine.ts';

/** A line longer than this is cut (the rest, up to its newline, dropped): one runaway line cannot take the memory. */
export const MAX_LINE_CHARS = 16 * 1024;

export class LogLineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  /** when the line being assembled started; undefined between lines */
  private time?: number;
  private cut = false;

  constructor(
    private readonly stream: ContainerLogLine['stream'],
    private readonly onLine: (line: ContainerLogLine) => void,
    private readonly now: () => number = Date.now,
    /** frames start with the engine's timestamp (a log stream); an attached stream's do not */
    private readonly timestamped = true,
  ) {}

  /** One frame's payload; the engine's timestamp is taken off its front when there is one. */
  frame(payload: Buffer): void {
    let time = this.now();
    let body = payload;
    const space = this.timestamped ? payload.indexOf(0x20) : -1;
    if (space > 0 && space <= 40) {
      const t = Date.parse(payload.toString('latin1', 0, space));
      if (!Number.isNaN(t)) {
        time = t;
        body = payload.subarray(space + 1);
      }
    }
    // The decoder keeps a multi-byte character that a message split in two until its second half.
    this.push(this.decoder.write(body), time);
  }

  push(text: string, time: number): void {
    let from = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
      this.append(text.slice(from, nl), time);
      this.emit();
      from = nl + 1;
    }
    if (from < text.length) this.append(text.slice(from), time);
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    const rest = this.decoder.end();
    if (rest) this.append(rest, this.now());
    if (this.time !== undefined) this.emit();
  }

  private append(part: string, time: number): void {
    this.time ??= time;
    if (this.cut) return;
    this.partial += part;
    if (this.partial.length > MAX_LINE_CHARS) {
      this.partial = `${this.partial.slice(0, MAX_LINE_CHARS)} …[line cut at ${MAX_LINE_CHARS} characters]`;
      this.cut = true;
    }
  }

  private emit(): void {
    const line = { stream: this.stream, text: this.partial, time: this.time ?? this.now() };
    this.partial = '';
    this.time = undefined;
    this.cut = false;
    this.onLine(line);
  }
}
