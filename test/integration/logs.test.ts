// Container output captured per function and per invocation, against the real engine: attribution
// under concurrency, tail, follow over server-sent events, and the bound on what is kept.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LogLine } from '../../runtime/logs.ts';
import { errorOf, eventually, fn, startHarness, type Harness } from '../helpers/harness.ts';

// Logs `n` lines with a pause between them, one to stderr at the end (unless stderr: false), and a
// last one without a newline. With `barrier`, first waits (up to 10 s) until that many invocations are running in this
// container, so they overlap for certain.
const LOGGER = `
let running = 0;
console.log('module loaded');
console.log('\\u001eforged-id\\u001fa tag written outside any invocation is not one');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export default async (event, context) => {
  running++;
  for (const until = Date.now() + 10000; event.barrier && running < event.barrier && Date.now() < until; ) await sleep(5);
  for (let i = 0; i < event.n; i++) {
    console.log(event.marker + ' line ' + i);
    await sleep(event.gap ?? 0);
  }
  if (event.stderr !== false) console.error(event.marker + ' done');
  process.stdout.write(event.marker + ' no newline');
  running--;
  return { invocationId: context.invocationId };
};`;

interface InvocationLogs {
  invocationId: string;
  function: string;
  lines: LogLine[];
}

/** Invoke and return the invocation id. */
async function invoke(h: Harness, name: string, event: unknown): Promise<string> {
  const res = await h.invoke(name, event);
  assert.equal(res.status, 200, await res.clone().text());
  return res.headers.get('x-invocation-id')!;
}

/** The invocation's lines once `count` have arrived (they follow the response by a few ms). */
async function linesOf(h: Harness, id: string, count: number): Promise<InvocationLogs> {
  const body = await eventually(async () => {
    const res = await h.request(`/invocations/${id}/logs`);
    if (res.status !== 200) return undefined;
    const b = (await res.json()) as InvocationLogs;
    return b.lines.length >= count ? b : undefined;
  });
  assert.ok(body, `invocation ${id} has ${count} lines within the bound`);
  return body;
}

const expectedTexts = (marker: string, n: number) => [
  ...Array.from({ length: n }, (_, i) => `${marker} line ${i}`),
  `${marker} done`,
  `${marker} no newline`,
];

describe('logs', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      logger: fn(LOGGER),
      shared: fn(LOGGER, 'pool:\n  min: 1\n  max: 1\n  concurrency: 4\n'),
    });
  });
  after(() => h.close());

  test("an invocation's lines, by its id: stdout and stderr, in order, with container and time", async () => {
    const before = Date.now();
    const id = await invoke(h, 'logger', { marker: 'solo', n: 3 });
    const body = await linesOf(h, id, 5);
    assert.equal(body.invocationId, id);
    assert.equal(body.function, 'logger');
    const sorted = (s: string) => body.lines.filter((l) => l.stream === s).map((l) => l.text);
    assert.deepEqual(sorted('stdout'), [
      'solo line 0',
      'solo line 1',
      'solo line 2',
      'solo no newline',
    ]);
    assert.deepEqual(sorted('stderr'), ['solo done']);
    for (const l of body.lines) {
      assert.equal(l.invocationId, id);
      assert.match(l.container, /^[0-9a-f]{12}$/);
      assert.ok(
        l.time >= before - 60_000 && l.time <= Date.now() + 60_000,
        `time ${l.time} is an epoch ms of now`,
      );
    }
  });

  test('with concurrency 4, four overlapping invocations in one container each get exactly their own lines', async () => {
    const markers = ['alpha', 'bravo', 'charlie', 'delta'];
    const ids = await Promise.all(
      markers.map((marker) => invoke(h, 'shared', { marker, n: 5, gap: 10, barrier: 4 })),
    );
    const all = await Promise.all(ids.map((id) => linesOf(h, id, 7)));
    all.forEach((body, i) => {
      assert.deepEqual(
        body.lines.map((l) => l.text).sort(),
        expectedTexts(markers[i], 5).sort(),
        `lines of ${markers[i]}`,
      );
      assert.ok(body.lines.every((l) => l.invocationId === ids[i]));
    });
    assert.equal(
      new Set(all.flatMap((b) => b.lines.map((l) => l.container))).size,
      1,
      'one container ran all four',
    );
    // They really overlapped: in the function's stream, some invocation's lines are interleaved with another's.
    const stream = (
      (await (await h.request('/functions/shared/logs')).json()) as { lines: LogLine[] }
    ).lines.filter((l) => ids.includes(l.invocationId!));
    const switches = stream.filter(
      (l, i) => i > 0 && l.invocationId !== stream[i - 1].invocationId,
    ).length;
    assert.ok(
      switches > markers.length,
      `the lines of the four invocations interleave (${switches} switches)`,
    );
  });

  test('output outside an invocation is kept without an id, and cannot forge one', async () => {
    const res = await h.request('/functions/logger/logs');
    const { function: name, lines } = (await res.json()) as { function: string; lines: LogLine[] };
    assert.equal(name, 'logger');
    const loaded = lines.find((l) => l.text === 'module loaded');
    assert.ok(loaded, 'the module-level line is there');
    assert.equal(loaded.invocationId, undefined);
    const forged = lines.find((l) => l.text.includes('a tag written outside'));
    assert.equal(forged?.invocationId, undefined);
    assert.equal((await h.request('/invocations/forged-id/logs')).status, 404);
  });

  test('tail=N returns the last N lines of the function', async () => {
    const id = await invoke(h, 'logger', { marker: 'tailed', n: 10 });
    await linesOf(h, id, 12);
    const res = await h.request('/functions/logger/logs?tail=3');
    assert.equal(res.status, 200);
    const { lines } = (await res.json()) as { lines: LogLine[] };
    assert.equal(lines.length, 3);
    const all = ((await (await h.request('/functions/logger/logs')).json()) as { lines: LogLine[] })
      .lines;
    assert.deepEqual(lines, all.slice(-3));
    // stdout and stderr travel separately, so which three arrived last is not certain; they are late ones.
    for (const l of lines) assert.match(l.text, /^tailed (line [6-9]|done|no newline)$/);
  });

  test('bad queries are 400 invalid_request; unknown functions and invocations are 404', async () => {
    for (const q of ['tail=0', 'tail=10001', 'tail=abc', 'tail=1.5', 'follow=yes', 'tial=3']) {
      const res = await h.request(`/functions/logger/logs?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal((await errorOf(res)).code, 'invalid_request', q);
    }
    const missing = await h.request('/functions/nope/logs');
    assert.equal(missing.status, 404);
    assert.equal((await errorOf(missing)).code, 'not_found');
    const unknown = await h.request('/invocations/00000000-0000-0000-0000-000000000000/logs');
    assert.equal(unknown.status, 404);
    assert.match((await errorOf(unknown)).message, /few ms after the response/);
  });

  test('GET /invocations/:id (async status) is still its own route', async () => {
    const res = await h.request('/invocations/00000000-0000-0000-0000-000000000000');
    // 404 from the async results (or 503 with no Redis), never an answer about logs
    assert.ok(res.status === 404 || res.status === 503, `status ${res.status}`);
    assert.doesNotMatch((await errorOf(res)).message, /log/);
  });
});

/** Reads server-sent `data:` events from a response body, one JSON value each. */
function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    /** the next event's parsed data; undefined when the stream ended */
    async next(): Promise<LogLine | undefined> {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end !== -1) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6));
          if (data.length) return JSON.parse(data.join('\n')) as LogLine;
          continue; // a comment (keep-alive)
        }
        const { done, value } = await reader.read();
        if (done) return undefined;
        buffer += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

describe('logs: follow', () => {
  let h: Harness;
  let base = '';
  before(async () => {
    h = await startHarness({ logger: fn(LOGGER) });
    base = `http://127.0.0.1:${await h.gw.listen()}`;
  });
  after(() => h.close());

  test('follow=true streams the tail, then lines logged after it connected; leaving unsubscribes', async () => {
    await linesOf(h, await invoke(h, 'logger', { marker: 'earlier', n: 1 }), 3);
    const ac = new AbortController();
    const res = await fetch(`${base}/functions/logger/logs?follow=true&tail=1`, {
      signal: ac.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = sseReader(res.body!);
    const first = await events.next();
    assert.ok(first?.text.startsWith('earlier '), `the tail comes first (got ${first?.text})`);
    assert.equal(h.gw.logs.listenerCount('logger'), 1);

    const id = await invoke(h, 'logger', { marker: 'live', n: 2 });
    const seen: LogLine[] = [];
    while (seen.length < 4) {
      const line = await events.next();
      assert.ok(line, 'the stream stays open');
      if (line.invocationId === id) seen.push(line);
    }
    assert.deepEqual(seen.map((l) => l.text).sort(), expectedTexts('live', 2).sort());

    ac.abort();
    await events.cancel().catch(() => {});
    assert.ok(
      await eventually(() => h.gw.logs.listenerCount('logger') === 0),
      'the gateway noticed the client left',
    );
  });

  test('in-process (app.request) too; a follow stream ends when the gateway closes', async () => {
    const res = await h.request('/functions/logger/logs?follow=true&tail=1');
    assert.equal(res.status, 200);
    const events = sseReader(res.body!);
    assert.ok(await events.next(), 'the tail line');
    const id = await invoke(h, 'logger', { marker: 'inproc', n: 1 });
    for (;;) {
      const line = await events.next();
      assert.ok(line);
      if (line.invocationId === id) break;
    }
    await h.close(); // must not hang on the open stream
    let rest = 0;
    while ((await events.next()) !== undefined) rest++; // what was sent before the end
    assert.ok(rest < 10, 'the stream ended');
  });
});

describe('logs: bounded', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ logger: fn(LOGGER) }, { logs: { max_lines_per_function: 5 } });
  });
  after(() => h.close());

  test('a function keeps at most max_lines_per_function lines; an invocation keeps what is left of its own', async () => {
    const first = await invoke(h, 'logger', { marker: 'first', n: 2 });
    await linesOf(h, first, 4);
    // stdout only: one stream keeps its order, so the last line to arrive is the last one written.
    const second = await invoke(h, 'logger', { marker: 'second', n: 10, stderr: false });
    const done = await eventually(async () => {
      const { lines } = (await (await h.request('/functions/logger/logs')).json()) as {
        lines: LogLine[];
      };
      return lines.at(-1)?.text === 'second no newline' ? lines : undefined;
    });
    assert.ok(done, 'the last line arrived');
    assert.deepEqual(
      done.map((l) => l.text),
      ['second line 6', 'second line 7', 'second line 8', 'second line 9', 'second no newline'],
    );
    assert.ok(done.every((l) => l.invocationId === second));
    assert.equal(
      (await h.request(`/invocations/${first}/logs`)).status,
      404,
      'every line of the first was dropped',
    );
    const { lines } = (await (await h.request(`/invocations/${second}/logs`)).json()) as {
      lines: LogLine[];
    };
    assert.equal(lines.length, 5);
  });
});
