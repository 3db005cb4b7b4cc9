// Unit tests for log capture: the LogStore (rings, invocation index, subscribers), the engine-side
// line splitter, and the bootstrap's per-invocation tagging of stdout/stderr writes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContainerLogLine } from '../../runtime/engine/engine.ts';
import { LogLineSplitter, MAX_LINE_CHARS } from '../../runtime/engine/log-lines.ts';
import { LogStore, type LogLine } from '../../runtime/logs.ts';

const CONTAINER = 'abcdef0123456789abcdef0123456789';
const raw = (
  text: string,
  time = 1000,
  stream: 'stdout' | 'stderr' = 'stdout',
): ContainerLogLine => ({ stream, text, time });
const tagged = (id: string, text: string) => `\u001e${id}\u001f${text}`;

describe('LogStore', () => {
  test('a tagged line is attributed to its invocation and loses the tag; an untagged one has no id', () => {
    const store = new LogStore();
    const a = store.add('fn', CONTAINER, raw(tagged('inv-1', 'hello'), 5, 'stderr'));
    assert.deepEqual(a, {
      time: 5,
      stream: 'stderr',
      invocationId: 'inv-1',
      container: 'abcdef012345',
      text: 'hello',
    });
    const b = store.add('fn', CONTAINER, raw('starting'));
    assert.equal(b.invocationId, undefined);
    assert.equal('invocationId' in b, false, 'absent, not undefined, in the JSON');
    assert.equal(store.add('fn', CONTAINER, raw('\u001eno end tag')).text, '\u001eno end tag');
    assert.deepEqual(store.invocation('inv-1'), { function: 'fn', lines: [a] });
    assert.equal(store.invocation('inv-2'), undefined);
  });

  test('each function keeps its last max lines; the invocation index drops with them', () => {
    const store = new LogStore({ maxLinesPerFunction: 3 });
    for (let i = 0; i < 2; i++) store.add('fn', CONTAINER, raw(tagged('old', `old ${i}`)));
    for (let i = 0; i < 2; i++) store.add('fn', CONTAINER, raw(tagged('new', `new ${i}`)));
    store.add('other', CONTAINER, raw('elsewhere'));
    assert.deepEqual(
      store.tail('fn').map((l) => l.text),
      ['old 1', 'new 0', 'new 1'],
    );
    assert.deepEqual(
      store.invocation('old')?.lines.map((l) => l.text),
      ['old 1'],
    );
    store.add('fn', CONTAINER, raw('untagged'));
    assert.equal(store.invocation('old'), undefined, 'all its lines are gone');
    assert.deepEqual(
      store.invocation('new')?.lines.map((l) => l.text),
      ['new 0', 'new 1'],
    );
    for (let i = 0; i < 10; i++) store.add('fn', CONTAINER, raw(`n ${i}`));
    assert.deepEqual(
      store.tail('fn').map((l) => l.text),
      ['n 7', 'n 8', 'n 9'],
    );
    assert.equal(store.invocation('new'), undefined);
    assert.deepEqual(
      store.tail('other').map((l) => l.text),
      ['elsewhere'],
      'rings are per function',
    );
  });

  test('tail(n) is the last n, oldest first; unknown functions have none', () => {
    const store = new LogStore({ maxLinesPerFunction: 4 });
    for (let i = 0; i < 6; i++) store.add('fn', CONTAINER, raw(`l${i}`));
    assert.deepEqual(
      store.tail('fn', 2).map((l) => l.text),
      ['l4', 'l5'],
    );
    assert.deepEqual(
      store.tail('fn', 100).map((l) => l.text),
      ['l2', 'l3', 'l4', 'l5'],
    );
    assert.deepEqual(store.tail('nope', 3), []);
    assert.equal(store.has('fn'), true);
    assert.equal(store.has('nope'), false);
  });

  test('subscribers get new lines of their function until they unsubscribe; close ends them all', () => {
    const store = new LogStore();
    const got: Array<LogLine | undefined> = [];
    const other: Array<LogLine | undefined> = [];
    const off = store.subscribe('fn', (l) => got.push(l));
    store.subscribe('other', (l) => other.push(l));
    store.add('fn', CONTAINER, raw('one'));
    store.add('x', CONTAINER, raw('not mine'));
    assert.deepEqual(
      got.map((l) => l?.text),
      ['one'],
    );
    assert.equal(store.listenerCount('fn'), 1);
    off();
    assert.equal(store.listenerCount('fn'), 0);
    store.add('fn', CONTAINER, raw('two'));
    assert.equal(got.length, 1);
    store.close();
    assert.deepEqual(other, [undefined], 'close says so once');
    let late: LogLine | undefined | 'none' = 'none';
    store.subscribe('fn', (l) => (late = l));
    assert.equal(late, undefined, 'a subscription after close ends at once');
  });
});

describe('LogLineSplitter', () => {
  const collect = () => {
    const lines: ContainerLogLine[] = [];
    const s = new LogLineSplitter(
      'stdout',
      (l) => lines.push(l),
      () => 42,
    );
    return { s, lines };
  };

  test('takes the engine timestamp off each frame and splits on newlines', () => {
    const { s, lines } = collect();
    s.frame(Buffer.from('2024-01-01T00:00:00.123456789Z hello\n'));
    s.frame(Buffer.from('2024-01-01T00:00:01Z two\nlines\n'));
    assert.deepEqual(lines, [
      { stream: 'stdout', text: 'hello', time: Date.UTC(2024, 0, 1, 0, 0, 0, 123) },
      { stream: 'stdout', text: 'two', time: Date.UTC(2024, 0, 1, 0, 0, 1) },
      { stream: 'stdout', text: 'lines', time: Date.UTC(2024, 0, 1, 0, 0, 1) },
    ]);
  });

  test('a line split over frames is joined, with the time of its start; empty lines are lines', () => {
    const { s, lines } = collect();
    s.frame(Buffer.from('2024-01-01T00:00:00Z par'));
    s.frame(Buffer.from('2024-01-01T00:00:05Z tial\n'));
    s.frame(Buffer.from('2024-01-01T00:00:06Z \n'));
    assert.deepEqual(
      lines.map((l) => [l.text, l.time]),
      [
        ['partial', Date.UTC(2024, 0, 1)],
        ['', Date.UTC(2024, 0, 1, 0, 0, 6)],
      ],
    );
  });

  test('a character split between frames survives; a frame without a timestamp gets now', () => {
    const { s, lines } = collect();
    const euro = Buffer.from('€'); // 3 bytes
    s.frame(Buffer.concat([Buffer.from('2024-01-01T00:00:00Z price '), euro.subarray(0, 1)]));
    s.frame(
      Buffer.concat([Buffer.from('2024-01-01T00:00:00Z '), euro.subarray(1), Buffer.from('5\n')]),
    );
    s.frame(Buffer.from('no timestamp here\n'));
    assert.deepEqual(
      lines.map((l) => l.text),
      ['price €5', 'no timestamp here'],
    );
    assert.equal(lines[1].time, 42);
  });

  test('end() flushes a last line without a newline; overlong lines are cut', () => {
    const { s, lines } = collect();
    s.push('x'.repeat(MAX_LINE_CHARS + 100), 1);
    s.push('y'.repeat(100), 2);
    s.push(' rest\nnext', 3);
    s.end();
    assert.equal(lines.length, 2);
    assert.ok(
      lines[0].text.startsWith('x'.repeat(MAX_LINE_CHARS)) &&
        lines[0].text.length < MAX_LINE_CHARS + 100,
    );
    assert.match(lines[0].text, /line cut at/);
    assert.deepEqual([lines[1].text, lines[1].time], ['next', 3]);
  });
});

describe('bootstrap tagging (runtime/bootstrap/log-tags.mjs)', async () => {
  // Plain JS of the bootstrap: imported by path so TypeScript does not look for its types.
  const path = '../../runtime/bootstrap/log-tags.mjs';
  const { tagWrites, runTagged } = (await import(path)) as {
    tagWrites(stream: { write: (...a: unknown[]) => boolean }): void;
    runTagged<T>(
      id: string | undefined,
      fn: (...a: unknown[]) => T,
      ...args: unknown[]
    ): Promise<Awaited<T>>;
  };
  const fakeStream = () => {
    const out: string[] = [];
    const stream = {
      write: (chunk: unknown, enc?: unknown, cb?: unknown) => {
        out.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
        for (const f of [enc, cb]) if (typeof f === 'function') f();
        return true;
      },
    };
    tagWrites(stream);
    return { stream, text: () => out.join('') };
  };
  const T = (id: string) => `\u001e${id}\u001f`;
  const tick = () => new Promise((r) => setTimeout(r, 1));

  test('outside an invocation, writes pass through untouched', () => {
    const { stream, text } = fakeStream();
    let called = false;
    stream.write('plain\n', () => (called = true));
    assert.equal(text(), 'plain\n');
    assert.ok(called, 'the callback given in place of the encoding still runs');
  });

  test('inside one, every line carries its id, across awaits', async () => {
    const { stream, text } = fakeStream();
    const result = await runTagged(
      'A',
      async (x: unknown) => {
        stream.write('one\ntwo\n');
        await tick();
        stream.write(Buffer.from('three\n'));
        return x;
      },
      7,
    );
    assert.equal(result, 7);
    assert.equal(text(), `${T('A')}one\n${T('A')}two\n${T('A')}three\n`);
  });

  test('overlapping invocations never share a line: an open line of another writer is ended first', async () => {
    const { stream, text } = fakeStream();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = runTagged('A', async () => {
      stream.write('a-start');
      await gate;
      stream.write(' a-end\n');
    });
    await runTagged('B', async () => stream.write('b\n'));
    release();
    await a;
    const lines = text().split('\n').filter(Boolean);
    assert.deepEqual(lines, [`${T('A')}a-start`, `${T('B')}b`, `${T('A')} a-end`]);
  });

  test('a last line without a newline is ended when the invocation is', async () => {
    const { stream, text } = fakeStream();
    await runTagged('A', async () => stream.write('dangling'));
    assert.equal(text(), `${T('A')}dangling\n`);
    stream.write('after\n');
    assert.equal(text(), `${T('A')}dangling\nafter\n`);
  });

  test('untagged output cannot forge a tag', () => {
    const { stream, text } = fakeStream();
    stream.write(`${T('victim')}forged\n`);
    assert.ok(!text().includes('\u001e'));
    assert.ok(text().includes('victim\u001fforged'));
  });
});
