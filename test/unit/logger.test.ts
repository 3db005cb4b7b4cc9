// The shipped logger's buffer: everything written comes out on flush, in order; past the bound,
// lines are dropped and counted instead of growing memory.
import assert from 'node:assert/strict';
import { openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../gateway/logger.ts';

/** The logger owns the fd: `close()` it at the end (its periodic flush must not outlive the fd). */
async function withFile(run: (fd: number, read: () => string[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tt-log-'));
  const file = join(dir, 'out.log');
  try {
    await run(openSync(file, 'w'), () => readFileSync(file, 'utf8').split('\n').filter(Boolean));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('flush writes every buffered line, in order, before it resolves', async () => {
  await withFile(async (fd, read) => {
    const { log, flush, dropped, close } = createLogger({ fd, level: 'info' });
    for (let i = 0; i < 5000; i++) log.info({ i }, 'invocation');
    await flush();
    await close();
    const lines = read().map((l) => JSON.parse(l) as { i: number; level: number });
    assert.equal(lines.length, 5000);
    assert.deepEqual(
      lines.map((l) => l.i),
      Array.from({ length: 5000 }, (_, i) => i),
    );
    assert.equal(dropped(), 0);
  });
});

test('a full buffer drops lines and counts them; what was kept is whole', async () => {
  await withFile(async (fd, read) => {
    const { log, flush, dropped, close } = createLogger({ fd, level: 'info', maxBuffer: 8192 });
    // Synchronously, so no write can drain the buffer in between.
    for (let i = 0; i < 1000; i++) log.info({ i, pad: 'x'.repeat(50) }, 'invocation');
    await flush();
    await close();
    const lines = read();
    assert.ok(dropped() > 0, 'some lines were dropped');
    assert.equal(lines.length + dropped(), 1000);
    for (const l of lines) assert.equal((JSON.parse(l) as { msg: string }).msg, 'invocation');
  });
});

test('TITAN_LOG_LEVEL is not needed for the access log: the default level is info', async () => {
  await withFile(async (fd, read) => {
    const saved = process.env.TITAN_LOG_LEVEL;
    delete process.env.TITAN_LOG_LEVEL;
    try {
      const { log, flush, close } = createLogger({ fd });
      log.info('shown');
      log.debug('hidden');
      await flush();
      await close();
      assert.deepEqual(
        read().map((l) => (JSON.parse(l) as { msg: string }).msg),
        ['shown'],
      );
    } finally {
      if (saved !== undefined) process.env.TITAN_LOG_LEVEL = saved;
    }
  });
});
