// Recent output of function containers, in memory: per function a bounded ring of lines (oldest
// dropped), an index by invocation id that drops with the ring, and live subscribers for `follow`.
import * as v from 'valibot';
import type { ContainerLogLine } from './engine/engine.ts';

export const LogLineSchema = v.object({
  /** epoch ms the engine received the line */
  time: v.number(),
  stream: v.picklist(['stdout', 'stderr']),
  /** the invocation that wrote it; absent for output outside any invocation (module load, crashes) */
  invocationId: v.optional(v.string()),
  /** the container's short id (12 hex digits) */
  container: v.string(),
  text: v.string(),
});
export type LogLine = v.InferOutput<typeof LogLineSchema>;

export const DEFAULT_MAX_LINES_PER_FUNCTION = 2000;

// The tag the bootstrap puts before every line an invocation writes (runtime/bootstrap/log-tags.mjs).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the tag delimiters are RS/US control characters by design
const TAGGED = /^\u001e([^\u001f\n]{1,200})\u001f/;

export interface LogStoreOptions {
  /** lines kept per function; older ones are dropped. Default DEFAULT_MAX_LINES_PER_FUNCTION. */
  maxLinesPerFunction?: number;
}

/** Gets each new line of one function, then `undefined` once when the store closes. */
export type LogListener = (line: LogLine | undefined) => void;

/** A fixed-capacity ring: push returns the line it pushed out, if any. */
class Ring {
  private readonly items: LogLine[] = [];
  private start = 0;
  constructor(private readonly capacity: number) {}

  push(line: LogLine): LogLine | undefined {
    if (this.items.length < this.capacity) {
      this.items.push(line);
      return undefined;
    }
    const evicted = this.items[this.start];
    this.items[this.start] = line;
    this.start = (this.start + 1) % this.capacity;
    return evicted;
  }

  last(n: number): LogLine[] {
    const len = this.items.length;
    const out: LogLine[] = [];
    for (let i = Math.max(0, len - n); i < len; i++) out.push(this.items[(this.start + i) % len]);
    return out;
  }
}

export class LogStore {
  readonly maxLinesPerFunction: number;
  private readonly rings = new Map<string, Ring>();
  private readonly byInvocation = new Map<string, { fn: string; lines: LogLine[] }>();
  private readonly listeners = new Map<string, Set<LogListener>>();
  private closed = false;

  constructor({ maxLinesPerFunction = DEFAULT_MAX_LINES_PER_FUNCTION }: LogStoreOptions = {}) {
    this.maxLinesPerFunction = maxLinesPerFunction;
  }

  /** Record one line of a function container's output; a tagged line is attributed to its invocation. */
  add(fn: string, containerId: string, raw: ContainerLogLine): LogLine {
    const tag = raw.text.charCodeAt(0) === 0x1e ? TAGGED.exec(raw.text) : null;
    const line: LogLine = {
      time: raw.time,
      stream: raw.stream,
      ...(tag ? { invocationId: tag[1] } : {}),
      container: containerId.slice(0, 12),
      text: tag ? raw.text.slice(tag[0].length) : raw.text,
    };
    let ring = this.rings.get(fn);
    if (!ring) {
      ring = new Ring(this.maxLinesPerFunction);
      this.rings.set(fn, ring);
    }
    const evicted = ring.push(line);
    if (evicted?.invocationId) this.unindex(evicted);
    if (line.invocationId) {
      const entry = this.byInvocation.get(line.invocationId);
      if (entry) entry.lines.push(line);
      else this.byInvocation.set(line.invocationId, { fn, lines: [line] });
    }
    for (const listener of this.listeners.get(fn) ?? []) listener(line);
    return line;
  }

  /** The last `n` lines of a function (all that are kept when n is absent), oldest first. */
  tail(fn: string, n = Infinity): LogLine[] {
    return this.rings.get(fn)?.last(n) ?? [];
  }

  /** Every kept line one invocation wrote, oldest first; undefined when none is known. */
  invocation(id: string): { function: string; lines: LogLine[] } | undefined {
    const entry = this.byInvocation.get(id);
    return entry && { function: entry.fn, lines: [...entry.lines] };
  }

  /** Whether any line of the function was ever recorded. */
  has(fn: string): boolean {
    return this.rings.has(fn);
  }

  /** Get every line the function's containers write from now on; returns the unsubscribe. */
  subscribe(fn: string, listener: LogListener): () => void {
    if (this.closed) {
      listener(undefined);
      return () => {};
    }
    let set = this.listeners.get(fn);
    if (!set) {
      set = new Set();
      this.listeners.set(fn, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(fn) === set) this.listeners.delete(fn);
    };
  }

  listenerCount(fn: string): number {
    return this.listeners.get(fn)?.size ?? 0;
  }

  /** End every subscription (followers' streams close, so the HTTP server can). Lines are still kept. */
  close(): void {
    this.closed = true;
    const all = [...this.listeners.values()].flatMap((s) => [...s]);
    this.listeners.clear();
    for (const listener of all) listener(undefined);
  }

  /** An invocation's lines leave the ring in the order they entered it: the evicted one is its first. */
  private unindex(line: LogLine): void {
    const entry = this.byInvocation.get(line.invocationId!);
    if (!entry) return;
    const i = entry.lines[0] === line ? 0 : entry.lines.indexOf(line);
    if (i !== -1) entry.lines.splice(i, 1);
    if (entry.lines.length === 0) this.byInvocation.delete(line.invocationId!);
  }
}
