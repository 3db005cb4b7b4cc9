// Per-invocation attribution of a container's output. Every line written to stdout or stderr while an
// invocation runs (including from timers and promises it started) is prefixed with
// `\u001e<invocationId>\u001f`; the gateway (runtime/logs.ts) strips the tag and indexes the line by
// it. Part of the bootstrap: Node's standard library only.
import { AsyncLocalStorage } from 'node:async_hooks';

export const TAG_START = '\u001e';
export const TAG_END = '\u001f';
// What a stray TAG_START in untagged output becomes, so module-level code cannot forge a tag.
const ESCAPED = '\u241e';

const als = new AsyncLocalStorage();
// Per wrapped stream: its own write, and the owner of its unterminated last line (null: none open;
// '' an untagged line).
const streams = new Map();

const isUtf8 = (enc) => enc === undefined || /^utf-?8$/i.test(enc);

/**
 * Wrap `stream.write` so lines carry the id of the invocation that wrote them. Lines are the unit of
 * attribution: when an invocation writes while another writer's line is still open (a `write`
 * without a newline), that line is ended first, so no line ever mixes two writers.
 */
export function tagWrites(stream) {
  const state = { write: stream.write.bind(stream), owner: null };
  const { write } = state;
  streams.set(stream, state);
  stream.write = function tagged(chunk, encoding, cb) {
    if (typeof encoding === 'function') [cb, encoding] = [encoding, undefined];
    const id = als.getStore() ?? '';
    const owner = state.owner;
    if (
      id === '' &&
      owner === null &&
      typeof chunk === 'string' &&
      isUtf8(encoding) &&
      !chunk.includes(TAG_START)
    ) {
      // The common untagged case (startup output): pass through, only track the line state.
      if (chunk !== '') state.owner = chunk.endsWith('\n') ? null : '';
      return write(chunk, encoding, cb);
    }
    const text =
      typeof chunk !== 'string'
        ? Buffer.from(chunk).toString('utf8')
        : isUtf8(encoding)
          ? chunk
          : Buffer.from(chunk, encoding).toString('utf8');
    if (text === '') return write(chunk, encoding, cb);
    let out = owner !== null && owner !== id ? '\n' : '';
    if (id === '') out += text.replaceAll(TAG_START, ESCAPED);
    else {
      const prefix = TAG_START + id + TAG_END;
      out += (owner === id ? '' : prefix) + text.replace(/\n(?!$)/g, `\n${prefix}`);
    }
    state.owner = text.endsWith('\n') ? null : id;
    return write(out, 'utf8', cb);
  };
}

/** Run `fn(...args)` as invocation `id`; whatever it writes is tagged with `id`. */
export async function runTagged(id, fn, ...args) {
  if (typeof id !== 'string' || id === '') return fn(...args);
  try {
    return await als.run(id, fn, ...args);
  } finally {
    // A last line without a newline would sit in the engine's buffer until the next write: end it.
    for (const state of streams.values()) {
      if (state.owner === id) {
        state.owner = null;
        state.write('\n');
      }
    }
  }
}
