import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { backoffMs, RetryTimer } from '../../runtime/retry-timer.ts';

test('backoff doubles from the base and stops at the max', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 10, 60].map((n) => backoffMs(n, 500, 30_000)),
    [500, 1000, 2000, 4000, 30_000, 30_000],
  );
});

test('one retry waits at a time; each failure in a row waits longer; a success starts over; cancel drops it', async () => {
  const runs: number[] = [];
  const t = new RetryTimer(20, 200);
  const keepAlive = setInterval(() => {}, 1000); // the timer itself never holds the process open
  try {
    const noop = () => {};
    assert.deepEqual(
      [t.failed(noop), t.failed(noop), t.failed(noop), t.failed(noop)],
      [20, 40, 80, 160],
      'each failure in a row waits twice as long',
    );
    assert.equal(t.failed(noop), 200, 'up to the max');
    t.succeeded();
    assert.equal(t.failed(noop), 20, 'a success starts over');
    t.cancel();

    t.succeeded();
    t.failed(() => runs.push(1));
    t.failed(() => runs.push(2)); // replaces the first
    assert.equal(t.pending, true);
    await sleep(150);
    assert.deepEqual(runs, [2]);
    assert.equal(t.pending, false);
    t.failed(() => runs.push(3));
    t.cancel();
    await sleep(250);
    assert.deepEqual(runs, [2]);
  } finally {
    clearInterval(keepAlive);
  }
});
