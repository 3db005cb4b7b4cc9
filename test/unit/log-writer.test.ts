// The access log's writer: batches come out whole and in order, a broken stdout loses lines (counted)
// without stopping the gateway, and pino's flush(cb) is answered.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { LineWriter } from '../../gateway/log-writer.ts';

async function inDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tt-lw-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('lines written one by one come out whole and in order', async () => {
  await inDir(async (dir) => {
    const file = join(dir, 'out.log');
    const w = new LineWriter({
      fd: openSync(file, 'w'),
      minLength: 1000,
      maxLength: 1 << 20,
      flushMs: 50,
    });
    // Multi-byte text: the bound and the batches count bytes, not UTF-16 units.
    for (let i = 0; i < 3000; i++) w.write(`{"i":${i},"s":"é€"}\n`);
    await w.close();
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { i: number }).i),
      Array.from({ length: 3000 }, (_, i) => i),
    );
    assert.equal(w.dropped, 0);
  });
});

test('a quiet writer still writes within flushMs, without a flush', async () => {
  await inDir(async (dir) => {
    const file = join(dir, 'out.log');
    const w = new LineWriter({
      fd: openSync(file, 'w'),
      minLength: 1 << 16,
      maxLength: 1 << 20,
      flushMs: 20,
    });
    w.write('one\n');
    for (let i = 0; i < 100 && readFileSync(file, 'utf8') === ''; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(readFileSync(file, 'utf8'), 'one\n');
    await w.close();
  });
});

test('a stdout whose reader is gone (EPIPE): the lines are counted as dropped, nothing throws', async () => {
  await inDir(async (dir) => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = openSync(fifo, 'w');
    closeSync(reader); // no reader left: every write fails with EPIPE
    const w = new LineWriter({ fd, minLength: 10, maxLength: 1 << 20, flushMs: 1000 });
    const log = pino({}, w);
    for (let i = 0; i < 50; i++) log.info({ i }, 'invocation');
    await w.flush();
    w.flushSync();
    assert.equal(w.dropped, 50);
    log.info('after the failure, the writer still takes lines');
    await new Promise<void>((resolve) => log.flush(() => resolve())); // pino's flush(cb) is answered
    assert.equal(w.dropped, 51);
    await w.close();
  });
});

test('past maxLength, lines are dropped whole and counted; the rest comes out', async () => {
  await inDir(async (dir) => {
    const file = join(dir, 'out.log');
    const w = new LineWriter({
      fd: openSync(file, 'w'),
      minLength: 4096,
      maxLength: 4096,
      flushMs: 1000,
    });
    let kept = 0;
    for (let i = 0; i < 200; i++) if (w.write(`${'x'.repeat(99)}\n`)) kept++;
    await w.close();
    assert.equal(kept + w.dropped, 200);
    assert.ok(w.dropped > 0);
    assert.equal(readFileSync(file, 'utf8').split('\n').filter(Boolean).length, kept);
    assert.equal(w.write('closed\n'), false, 'a closed writer takes nothing');
  });
});
