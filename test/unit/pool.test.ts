// The warm pool's logic with fake workers through the same start() interface: no engine, no sleeps
// beyond a few milliseconds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TitanError } from '../../runtime/errors.ts';
import { Pool, type PoolWorker, type StartReason } from '../../runtime/pool.ts';
import type { PoolSettings } from '../../runtime/spec.ts';

class FakeWorker implements PoolWorker {
  stopped = 0;
  crash!: () => void;
  readonly exited = new Promise<void>((r) => (this.crash = r));
  constructor(readonly id: string, readonly reason: StartReason) {}
  async stop() {
    this.stopped++;
  }
}

function fakePool(settings: Partial<PoolSettings> = {}, opts: { queueMax?: number; queueTimeoutMs?: number; fail?: () => Error | undefined; now?: () => number } = {}) {
  const started: FakeWorker[] = [];
  const pool = new Pool<FakeWorker>({
    name: 'fake',
    settings: { min: 1, max: 2, concurrency: 1, idleSec: 60, ...settings },
    queueMax: opts.queueMax ?? 10,
    queueTimeoutMs: opts.queueTimeoutMs ?? 1000,
    retryBaseMs: 5,
    now: opts.now,
    start: async (reason) => {
      await sleep(2);
      const err = opts.fail?.();
      if (err) throw err;
      const w = new FakeWorker(`w${started.length}`, reason);
      started.push(w);
      return w;
    },
  });
  return { pool, started };
}

describe('Pool', () => {
  test('warmUp starts min workers; a lease on a warm one is immediate and not cold', async () => {
    const { pool, started } = fakePool({ min: 2, max: 3 });
    await pool.warmUp();
    assert.equal(started.length, 2);
    assert.deepEqual(started.map((w) => w.reason), ['prewarm', 'prewarm']);
    const lease = await pool.acquire();
    assert.equal(lease.cold, false);
    assert.equal(lease.waitMs, 0);
    assert.deepEqual(pool.stats(), { warm: 1, busy: 1, starting: 0, queued: 0, inflight: 1 });
    pool.release(lease);
    await pool.drain();
  });

  test('demand grows the pool up to max and no further; the first use of a demand worker is cold', async () => {
    const { pool, started } = fakePool({ min: 0, max: 2 });
    const [a, b] = await Promise.all([pool.acquire(), pool.acquire()]);
    assert.equal(started.length, 2);
    assert.deepEqual(started.map((w) => w.reason), ['demand', 'demand']);
    assert.ok(a.cold && b.cold);
    const third = pool.acquire(); // at max: waits
    await sleep(10);
    assert.equal(started.length, 2);
    assert.equal(pool.stats().queued, 1);
    pool.release(a);
    const c = await third;
    assert.equal(c.worker, a.worker, 'FIFO hand-over of the freed worker');
    assert.equal(c.cold, false, 'second use is warm');
    pool.release(b);
    pool.release(c);
    await pool.drain();
  });

  test('concurrency lets one worker hold several leases', async () => {
    const { pool, started } = fakePool({ min: 1, max: 1, concurrency: 3 });
    await pool.warmUp();
    const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    assert.equal(started.length, 1);
    assert.ok(leases.every((l) => l.worker === started[0]));
    for (const l of leases) pool.release(l);
    await pool.drain();
  });

  test('a full queue is refused with overloaded; a long wait times out as overloaded', async () => {
    const { pool } = fakePool({ min: 1, max: 1 }, { queueMax: 1, queueTimeoutMs: 30 });
    await pool.warmUp();
    const held = await pool.acquire();
    const waiting = pool.acquire();
    await assert.rejects(pool.acquire(), (e: TitanError) => e.code === 'overloaded' && /1 invocations queued/.test(e.message));
    await assert.rejects(waiting, (e: TitanError) => e.code === 'overloaded' && /after waiting 30 ms/.test(e.message));
    pool.release(held);
    await pool.drain();
  });

  test('a deadline earlier than the queue timeout ends the wait as a timeout', async () => {
    const { pool } = fakePool({ min: 1, max: 1 }, { queueTimeoutMs: 5000 });
    await pool.warmUp();
    const held = await pool.acquire();
    await assert.rejects(pool.acquire(Date.now() + 20), (e: TitanError) => e.code === 'timeout');
    pool.release(held);
    await pool.drain();
  });

  test('a crashed worker is replaced to keep min; retire does the same', async () => {
    const { pool, started } = fakePool({ min: 1, max: 2 });
    await pool.warmUp();
    started[0]!.crash();
    await sleep(20);
    assert.equal(started.length, 2);
    assert.equal(started[1]!.reason, 'replace');
    assert.equal(started[0]!.stopped, 1);
    pool.retire(started[1]!, 'timeout');
    await sleep(20);
    assert.equal(started.length, 3);
    assert.equal(pool.stats().warm, 1);
    await pool.drain();
  });

  test('idle workers above min are reaped after idle_sec', async () => {
    let now = 0;
    const { pool, started } = fakePool({ min: 1, max: 2, idleSec: 10 }, { now: () => now });
    const [a, b] = await Promise.all([pool.acquire(), pool.acquire()]);
    pool.release(a);
    pool.release(b);
    now = 11_000;
    await sleep(1100); // the reaper runs once a second
    assert.equal(pool.stats().warm, 1);
    assert.equal(started.filter((w) => w.stopped).length, 1);
    await pool.drain();
  });

  test('update(): raising min prewarms at once, lowering it and max stops idle extras', async () => {
    const { pool, started } = fakePool({ min: 1, max: 4 });
    await pool.warmUp();
    pool.update({ min: 3, max: 4, concurrency: 1, idleSec: 60 });
    await sleep(20);
    assert.equal(pool.stats().warm, 3);
    pool.update({ min: 1, max: 4, concurrency: 1, idleSec: 60 });
    assert.equal(pool.stats().warm, 1);
    assert.equal(started.filter((w) => w.stopped).length, 2);
    await pool.drain();
  });

  test('a handler that does not load fails every waiter and later acquire with function_invalid', async () => {
    const invalid = new TitanError('function_invalid', 'handler failed to load: SyntaxError');
    const { pool } = fakePool({ min: 0, max: 1 }, { fail: () => invalid });
    await assert.rejects(pool.acquire(), (e: TitanError) => e.code === 'function_invalid');
    await assert.rejects(pool.acquire(), (e: TitanError) => e === invalid);
    assert.equal(pool.fatalError, invalid);
    await pool.drain();
  });

  test('a failing engine fails waiters with sandbox_error and is retried with backoff', async () => {
    let failing = true;
    const { pool, started } = fakePool({ min: 1, max: 1 }, { fail: () => (failing ? new Error('engine said no') : undefined) });
    await assert.rejects(pool.warmUp(), /engine said no/);
    await assert.rejects(pool.acquire(), (e: TitanError) => e.code === 'sandbox_error' && /engine said no/.test(e.message));
    failing = false;
    await sleep(100);
    assert.equal(started.length, 1, 'the retry reached min');
    assert.equal(pool.lastError, undefined);
    await pool.drain();
  });

  test('drain refuses new work, lets in-flight leases finish, then stops every worker', async () => {
    const { pool, started } = fakePool({ min: 2, max: 2 });
    await pool.warmUp();
    const lease = await pool.acquire();
    let drained = false;
    const done = pool.drain().then(() => (drained = true));
    await assert.rejects(pool.acquire(), (e: TitanError) => e.code === 'not_found');
    await sleep(10);
    assert.equal(drained, false, 'waits for the lease');
    pool.release(lease);
    await done;
    assert.ok(started.every((w) => w.stopped === 1));
  });
});
