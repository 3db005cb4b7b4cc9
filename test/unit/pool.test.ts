// Unit tests for runtime/pool.ts: the warm pool, driven through PoolOptions.start with fake workers.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OverloadedError, TimeoutError, TitanError } from '../../runtime/errors.ts';
import {
  Pool,
  type Lease,
  type PoolEvent,
  type PoolOptions,
  type StartReason,
} from '../../runtime/pool.ts';
import type { PoolSettings } from '../../runtime/spec.ts';

class FakeWorker {
  readonly exited: Promise<void>;
  stopCalls = 0;
  private exit!: () => void;

  constructor(readonly id: string) {
    this.exited = new Promise<void>((resolve) => (this.exit = resolve));
  }

  /** the container dies on its own */
  crash(): void {
    this.exit();
  }

  async stop(): Promise<void> {
    this.stopCalls++;
    this.exit();
  }
}

interface PendingStart {
  reason: StartReason;
  resolve: () => FakeWorker;
  reject: (err: Error) => void;
}

/**
 * A fake `start`. By default each start resolves on the next timer tick; with `manual` each one is
 * parked in `pending` until the test resolves it or rejects it with an error of its choosing.
 */
class FakeFactory {
  readonly reasons: StartReason[] = [];
  readonly workers: FakeWorker[] = [];
  readonly pending: PendingStart[] = [];
  private n = 0;

  constructor(private readonly mode: { manual: boolean } = { manual: false }) {}

  start = (reason: StartReason): Promise<FakeWorker> => {
    this.reasons.push(reason);
    return new Promise<FakeWorker>((resolve, reject) => {
      const p: PendingStart = {
        reason,
        resolve: () => {
          const w = new FakeWorker(`w${++this.n}`);
          this.workers.push(w);
          resolve(w);
          return w;
        },
        reject,
      };
      if (this.mode.manual) {
        this.pending.push(p);
        return;
      }
      setTimeout(() => p.resolve(), 0);
    });
  };

  /** settle the oldest parked start */
  next(): PendingStart {
    const p = this.pending.shift();
    assert.ok(p, 'expected a pending start');
    return p;
  }
}

const settings = (s: Partial<PoolSettings> = {}): PoolSettings => ({
  min: 1,
  max: 2,
  concurrency: 1,
  idleSec: 300,
  ...s,
});

const open: { pool: Pool<FakeWorker>; factory: FakeFactory }[] = [];

function makePool(
  s: Partial<PoolSettings> = {},
  factory = new FakeFactory(),
  extra: Partial<PoolOptions<FakeWorker>> = {},
): { pool: Pool<FakeWorker>; factory: FakeFactory; events: PoolEvent[] } {
  const events: PoolEvent[] = [];
  const pool = new Pool<FakeWorker>({
    name: 'fn',
    settings: settings(s),
    queueMax: 8,
    queueTimeoutMs: 5000,
    start: factory.start,
    onEvent: (e) => events.push(e),
    retryBaseMs: 10,
    ...extra,
  });
  open.push({ pool, factory });
  return { pool, factory, events };
}

/** let settled starts and promise chains run */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** settle a promise's outcome without awaiting it: 'pending' until it settles */
function track<T>(p: Promise<T>): {
  state: 'pending' | 'resolved' | 'rejected';
  value?: T;
  error?: unknown;
} {
  const t: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = {
    state: 'pending',
  };
  p.then(
    (value) => Object.assign(t, { state: 'resolved', value }),
    (error) => Object.assign(t, { state: 'rejected', error }),
  );
  return t;
}

afterEach(async () => {
  // Every test releases its leases; parked starts still open are let through so drain can finish.
  for (const { pool, factory } of open.splice(0)) {
    for (const p of factory.pending.splice(0)) p.resolve();
    const timer = sleep(2000, 'stuck', { ref: false });
    assert.equal(
      await Promise.race([pool.drain().then(() => 'drained'), timer]),
      'drained',
      'the pool drains after each test',
    );
  }
});

describe('Pool: warm-up and acquire', () => {
  test('warmUp starts min containers as prewarm and they count as warm', async () => {
    const { pool, factory, events } = makePool({ min: 2, max: 4 });
    await pool.warmUp();
    assert.deepEqual(factory.reasons, ['prewarm', 'prewarm']);
    assert.deepEqual(pool.stats(), { warm: 2, busy: 0, starting: 0, queued: 0, inflight: 0 });
    assert.deepEqual(
      events.map((e) => e.kind === 'started' && e.reason),
      ['prewarm', 'prewarm'],
    );
  });

  test('acquire on a free worker is immediate, not cold, and starts nothing', async () => {
    const { pool, factory } = makePool({ min: 1, max: 2 });
    await pool.warmUp();
    const t = track(pool.acquire());
    await Promise.resolve(); // one microtask: no container start could have happened in between
    assert.equal(t.state, 'resolved');
    const lease = t.value!;
    assert.equal(lease.worker, factory.workers[0]);
    assert.equal(lease.cold, false);
    assert.equal(lease.waitMs, 0);
    assert.deepEqual(factory.reasons, ['prewarm']);
    assert.deepEqual(pool.stats(), { warm: 0, busy: 1, starting: 0, queued: 0, inflight: 1 });
    pool.release(lease);
    assert.deepEqual(pool.stats(), { warm: 1, busy: 0, starting: 0, queued: 0, inflight: 0 });
  });

  test('grows on demand up to max and no further; cold only on the first use of a demand start', async () => {
    const factory = new FakeFactory({ manual: true });
    const { pool } = makePool({ min: 0, max: 2 }, factory);
    const a = track(pool.acquire());
    const b = track(pool.acquire());
    const c = track(pool.acquire());
    assert.deepEqual(
      factory.reasons,
      ['demand', 'demand'],
      'two starts for three waiters at max 2',
    );
    assert.deepEqual(pool.stats(), { warm: 0, busy: 0, starting: 2, queued: 3, inflight: 0 });

    factory.next().resolve();
    factory.next().resolve();
    await flush();
    assert.equal(a.state, 'resolved');
    assert.equal(b.state, 'resolved');
    assert.equal(c.state, 'pending');
    assert.equal(a.value!.cold, true);
    assert.equal(b.value!.cold, true);
    assert.notEqual(a.value!.worker, b.value!.worker);
    assert.deepEqual(pool.stats(), { warm: 0, busy: 2, starting: 0, queued: 1, inflight: 2 });
    assert.equal(factory.reasons.length, 2, 'no third start past max');

    pool.release(a.value!);
    await flush();
    assert.equal(c.state, 'resolved');
    assert.equal(c.value!.worker, a.value!.worker);
    assert.equal(c.value!.cold, false, 'second use of a demand-started worker is warm');
    pool.release(b.value!);
    pool.release(c.value!);
    const d = await pool.acquire();
    assert.equal(d.cold, false);
    pool.release(d);
  });

  test('a prewarmed worker is never cold, even on its first use', async () => {
    const { pool } = makePool({ min: 1, max: 1 });
    await pool.warmUp();
    const lease = await pool.acquire();
    assert.equal(lease.cold, false);
    pool.release(lease);
  });

  test('concurrency > 1 lets one worker serve several leases', async () => {
    const { pool, factory } = makePool({ min: 1, max: 1, concurrency: 3 });
    await pool.warmUp();
    const leases = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    assert.ok(leases.every((l) => l.worker === factory.workers[0]));
    assert.deepEqual(pool.stats(), { warm: 0, busy: 1, starting: 0, queued: 0, inflight: 3 });
    const fourth = track(pool.acquire());
    await flush();
    assert.equal(fourth.state, 'pending');
    assert.equal(pool.stats().queued, 1);
    pool.release(leases[0]);
    await flush();
    assert.equal(fourth.state, 'resolved');
    assert.equal(fourth.value!.worker, factory.workers[0]);
    assert.equal(factory.reasons.length, 1);
    for (const l of [...leases.slice(1), fourth.value!]) pool.release(l);
    assert.equal(pool.stats().inflight, 0);
  });

  test('a second worker is used before a third lease piles onto the first (least loaded)', async () => {
    const { pool, factory } = makePool({ min: 2, max: 2, concurrency: 2 });
    await pool.warmUp();
    const a = await pool.acquire();
    const b = await pool.acquire();
    assert.notEqual(a.worker, b.worker);
    assert.deepEqual(new Set([a.worker, b.worker]), new Set(factory.workers));
    pool.release(a);
    pool.release(b);
  });
});

describe('Pool: the wait queue', () => {
  test('a full queue answers OverloadedError (overloaded) at once', async () => {
    const { pool } = makePool({ min: 1, max: 1 }, undefined, { queueMax: 1 });
    await pool.warmUp();
    const held = await pool.acquire();
    const queued = track(pool.acquire());
    await assert.rejects(pool.acquire(), (e: unknown) => {
      assert.ok(e instanceof OverloadedError);
      assert.equal(e.code, 'overloaded');
      assert.equal(e.retryAfterSec, 1);
      assert.match(e.message, /at capacity \(1 containers × 1\) with 1 invocations queued/);
      return true;
    });
    assert.equal(pool.stats().queued, 1, 'the rejected call did not join the queue');
    pool.release(held);
    await flush();
    assert.equal(queued.state, 'resolved');
    pool.release(queued.value!);
  });

  test('the queue bounds waiting at max: below max an acquire starts a container even with queueMax 0', async () => {
    const { pool, factory } = makePool({ min: 0, max: 2 }, undefined, { queueMax: 0 });
    const a = await pool.acquire();
    const b = await pool.acquire();
    assert.equal(a.cold, true);
    assert.equal(b.cold, true);
    assert.deepEqual(factory.reasons, ['demand', 'demand']);
    await assert.rejects(pool.acquire(), { code: 'overloaded' });
    pool.release(a);
    pool.release(b);
  });

  test('waiting past queueTimeoutMs answers overloaded and leaves the queue', async () => {
    const { pool } = makePool({ min: 1, max: 1 }, undefined, { queueTimeoutMs: 40 });
    await pool.warmUp();
    const held = await pool.acquire();
    const t0 = Date.now();
    await assert.rejects(pool.acquire(), (e: unknown) => {
      assert.ok(e instanceof OverloadedError);
      assert.equal(e.code, 'overloaded');
      assert.match(e.message, /no container free after waiting 40 ms/);
      return true;
    });
    assert.ok(Date.now() - t0 >= 35, `rejected after ${Date.now() - t0} ms`);
    assert.equal(pool.stats().queued, 0);
    pool.release(held);
    assert.deepEqual(pool.stats(), { warm: 1, busy: 0, starting: 0, queued: 0, inflight: 0 });
  });

  test('a deadline earlier than the queue timeout answers TimeoutError (timeout)', async () => {
    const { pool } = makePool({ min: 1, max: 1 }, undefined, { queueTimeoutMs: 5000 });
    await pool.warmUp();
    const held = await pool.acquire();
    const t0 = Date.now();
    await assert.rejects(pool.acquire(t0 + 30), (e: unknown) => {
      assert.ok(e instanceof TimeoutError);
      assert.equal(e.code, 'timeout');
      return true;
    });
    const waited = Date.now() - t0;
    assert.ok(waited >= 20 && waited < 1000, `rejected after ${waited} ms`);
    assert.equal(pool.stats().queued, 0);
    pool.release(held);
  });

  test('release hands the worker to the first waiter (FIFO)', async () => {
    let clock = 1000;
    const { pool } = makePool({ min: 1, max: 1 }, undefined, { now: () => clock });
    await pool.warmUp();
    const held = await pool.acquire();
    const order: string[] = [];
    const waiters = ['a', 'b', 'c'].map((name) =>
      pool.acquire().then((lease) => {
        order.push(name);
        return lease;
      }),
    );
    assert.equal(pool.stats().queued, 3);
    clock += 25;
    pool.release(held);
    const a = await waiters[0];
    assert.deepEqual(order, ['a']);
    assert.equal(a.waitMs, 25, 'waitMs measured on the injected clock');
    pool.release(a);
    const b = await waiters[1];
    pool.release(b);
    const c = await waiters[2];
    pool.release(c);
    assert.deepEqual(order, ['a', 'b', 'c']);
  });
});

describe('Pool: retire, crash and idle scale-down', () => {
  test('retire stops the worker and replaces it while below min', async () => {
    const { pool, factory, events } = makePool({ min: 2, max: 3 });
    await pool.warmUp();
    const [w1, w2] = factory.workers;
    pool.retire(w1, 'timeout');
    assert.equal(w1.stopCalls, 1);
    assert.deepEqual(events.at(-1), { kind: 'stopped', why: 'timeout' });
    assert.deepEqual(factory.reasons, ['prewarm', 'prewarm', 'replace']);
    assert.equal(pool.stats().starting, 1);
    await sleep(5);
    assert.deepEqual(pool.stats(), { warm: 2, busy: 0, starting: 0, queued: 0, inflight: 0 });
    pool.retire(w1, 'again'); // unknown worker: ignored
    assert.equal(w1.stopCalls, 1);
    assert.equal(w2.stopCalls, 0);
  });

  test('retiring a worker above min does not replace it', async () => {
    const { pool, factory } = makePool({ min: 1, max: 2, concurrency: 1 });
    await pool.warmUp();
    const a = await pool.acquire();
    const b = await pool.acquire(); // starts a demand worker
    pool.release(a);
    pool.retire(b.worker, 'crashed');
    pool.release(b); // released after retire: ignored
    await sleep(5);
    assert.deepEqual(factory.reasons, ['prewarm', 'demand']);
    assert.deepEqual(pool.stats(), { warm: 1, busy: 0, starting: 0, queued: 0, inflight: 0 });
  });

  test('a worker that exits on its own is retired and replaced; a queued waiter gets the replacement', async () => {
    const { pool, factory, events } = makePool({ min: 1, max: 1 });
    await pool.warmUp();
    const lease = await pool.acquire();
    const waiter = track(pool.acquire());
    factory.workers[0].crash();
    await sleep(5);
    assert.deepEqual(
      events.filter((e) => e.kind === 'stopped'),
      [{ kind: 'stopped', why: 'exited' }],
    );
    assert.deepEqual(factory.reasons, ['prewarm', 'replace']);
    assert.equal(waiter.state, 'resolved');
    assert.equal(waiter.value!.worker, factory.workers[1]);
    pool.release(lease); // the dead worker's lease: ignored
    pool.release(waiter.value!);
    assert.deepEqual(pool.stats(), { warm: 1, busy: 0, starting: 0, queued: 0, inflight: 0 });
  });

  test('idle workers above min are reaped after idleSec by the 1 s reaper; min stays', async () => {
    let clock = 0;
    const { pool, factory, events } = makePool({ min: 0, max: 3, idleSec: 1 }, undefined, {
      now: () => clock,
    });
    const leases = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    assert.equal(factory.workers.length, 3);
    pool.release(leases[0]);
    pool.release(leases[1]);
    clock = 1500;
    pool.release(leases[2]); // used recently: 0.7 s idle when the reaper looks
    clock = 2200;
    await sleep(1100); // the reaper's interval fires once
    const reaped = factory.workers.filter((w) => w.stopCalls > 0);
    assert.deepEqual(reaped, [leases[0].worker, leases[1].worker]);
    assert.equal(events.filter((e) => e.kind === 'stopped' && e.why === 'idle').length, 2);
    assert.equal(pool.stats().warm, 1);

    // min is a floor: raising it to 1 keeps the last worker however long it idles.
    clock = 10_000;
    pool.update(settings({ min: 1, max: 3, idleSec: 1 })); // update() runs the reaper at once
    assert.equal(pool.stats().warm, 1);
    assert.equal(leases[2].worker.stopCalls, 0);
    assert.equal(factory.reasons.length, 3, 'nothing started: min already met');
  });
});

describe('Pool: live update', () => {
  test('raising min prewarms the difference', async () => {
    const { pool, factory } = makePool({ min: 1, max: 4 });
    await pool.warmUp();
    pool.update(settings({ min: 3, max: 4 }));
    assert.equal(pool.stats().starting, 2);
    await sleep(5);
    assert.deepEqual(factory.reasons, ['prewarm', 'prewarm', 'prewarm']);
    assert.deepEqual(pool.stats(), { warm: 3, busy: 0, starting: 0, queued: 0, inflight: 0 });
    assert.deepEqual(pool.config, settings({ min: 3, max: 4 }));
  });

  test('lowering max retires idle extras at once and leaves busy ones alone', async () => {
    const { pool, factory, events } = makePool({ min: 1, max: 3 });
    await pool.warmUp();
    const leases = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    assert.equal(factory.workers.length, 3);
    const busy = leases[1];
    pool.release(leases[0]);
    pool.release(leases[2]);
    pool.update(settings({ min: 1, max: 1 })); // min unchanged: only the lower max retires them
    const stopped = factory.workers.filter((w) => w.stopCalls > 0);
    assert.equal(stopped.length, 2);
    assert.ok(!stopped.includes(busy.worker));
    assert.equal(events.filter((e) => e.kind === 'stopped' && e.why === 'scaled_down').length, 2);
    assert.deepEqual(pool.stats(), { warm: 0, busy: 1, starting: 0, queued: 0, inflight: 1 });
    pool.release(busy);
  });

  test('raising max grows the pool for invocations already queued', async () => {
    const { pool, factory } = makePool({ min: 1, max: 1 });
    await pool.warmUp();
    const held = await pool.acquire();
    const waiter = track(pool.acquire());
    await flush();
    assert.equal(waiter.state, 'pending');
    pool.update(settings({ min: 1, max: 2 }));
    await sleep(5);
    assert.deepEqual(factory.reasons, ['prewarm', 'demand']);
    assert.equal(waiter.state, 'resolved');
    assert.equal(waiter.value!.cold, true);
    pool.release(held);
    pool.release(waiter.value!);
  });

  test('raising concurrency serves queued invocations on the busy worker', async () => {
    const { pool, factory } = makePool({ min: 1, max: 1, concurrency: 1 });
    await pool.warmUp();
    const held = await pool.acquire();
    const waiter = track(pool.acquire());
    pool.update(settings({ min: 1, max: 1, concurrency: 2 }));
    await flush();
    assert.equal(waiter.state, 'resolved');
    assert.equal(waiter.value!.worker, held.worker);
    assert.equal(factory.reasons.length, 1);
    pool.release(held);
    pool.release(waiter.value!);
  });
});

describe('Pool: start failures', () => {
  test('function_invalid is fatal: waiters and later acquires reject with it, and nothing retries', async () => {
    const factory = new FakeFactory({ manual: true });
    const { pool, events } = makePool({ min: 0, max: 2 }, factory);
    const a = track(pool.acquire());
    const b = track(pool.acquire());
    assert.equal(factory.pending.length, 2);
    const invalid = new TitanError(
      'function_invalid',
      "handler 'index.js' does not export a function",
    );
    factory.next().reject(invalid);
    await flush();
    assert.equal(a.state, 'rejected');
    assert.equal(b.state, 'rejected');
    assert.equal(a.error, invalid);
    assert.equal(b.error, invalid);
    assert.equal(pool.fatalError, invalid);
    assert.deepEqual(events, [{ kind: 'start_failed', reason: 'demand', error: invalid }]);
    await assert.rejects(pool.acquire(), (e) => e === invalid);
    await sleep(40); // well past retryBaseMs (10)
    assert.equal(factory.reasons.length, 2, 'no retry after a fatal failure');
    assert.equal(pool.stats().queued, 0);
  });

  test('function_invalid after the version loaded once is not fatal: the folder changed under it, the warm container serves on', async () => {
    const factory = new FakeFactory({ manual: true });
    const { pool } = makePool({ min: 1, max: 2 }, factory);
    const warm = track(pool.warmUp());
    factory.next().resolve();
    await flush();
    assert.equal(warm.state, 'resolved');
    const first = await pool.acquire();
    const second = track(pool.acquire()); // needs a second container
    factory
      .next()
      .reject(new TitanError('function_invalid', "handler 'index.js' does not export a function"));
    await flush();
    assert.equal(pool.fatalError, undefined, 'the version stays valid');
    assert.equal(second.state, 'pending', 'the waiter waits for the warm container');
    pool.release(first);
    await flush();
    assert.equal(second.state, 'resolved', 'and is served by it');
    pool.release(second.value as Lease<FakeWorker>);
  });

  test('a non-fatal failure with nothing warm rejects waiters with sandbox_error, then retries to min', async () => {
    const factory = new FakeFactory({ manual: true });
    const { pool, events } = makePool({ min: 1, max: 1 }, factory);
    const warm = track(pool.warmUp());
    const waiter = track(pool.acquire());
    assert.deepEqual(factory.reasons, ['prewarm'], 'the prewarm start already covers the waiter');
    const boom = new Error('engine exploded');
    factory.next().reject(boom);
    await flush();
    assert.equal(waiter.state, 'rejected');
    const err = waiter.error as TitanError;
    assert.ok(err instanceof TitanError);
    assert.equal(err.code, 'sandbox_error');
    assert.match(err.message, /no container could be started for 'fn': engine exploded/);
    assert.equal(warm.state, 'rejected');
    assert.equal(warm.error, boom);
    assert.equal(pool.lastError, boom);
    assert.equal(pool.fatalError, undefined);
    assert.equal(events[0].kind, 'start_failed');

    await sleep(30); // the retry after retryBaseMs (10 ms)
    assert.deepEqual(factory.reasons, ['prewarm', 'prewarm']);
    factory.next().reject(new Error('still broken'));
    await sleep(60); // backoff doubled: 20 ms
    assert.deepEqual(factory.reasons, ['prewarm', 'prewarm', 'prewarm']);
    factory.next().resolve();
    await flush();
    assert.equal(pool.lastError, undefined);
    assert.deepEqual(pool.stats(), { warm: 1, busy: 0, starting: 0, queued: 0, inflight: 0 });
    const lease = await pool.acquire();
    pool.release(lease);
  });

  test('a TitanError start failure (engine_unavailable) reaches waiters as itself', async () => {
    const factory = new FakeFactory({ manual: true });
    const { pool } = makePool({ min: 0, max: 1 }, factory);
    const waiter = track(pool.acquire());
    const down = new TitanError('engine_unavailable', 'docker is not running');
    factory.next().reject(down);
    await flush();
    assert.equal(waiter.error, down);
    assert.equal(pool.fatalError, undefined);
    // not fatal: the next acquire tries again
    const again = track(pool.acquire());
    assert.deepEqual(factory.reasons, ['demand', 'demand']);
    factory.next().resolve();
    await flush();
    assert.equal(again.state, 'resolved');
    pool.release(again.value!);
  });

  test('a failed start while another worker is warm leaves waiters queued for it', async () => {
    const factory = new FakeFactory({ manual: true });
    const { pool } = makePool({ min: 1, max: 2 }, factory);
    const warm = track(pool.warmUp());
    factory.next().resolve();
    await flush();
    assert.equal(warm.state, 'resolved');
    const held = await pool.acquire();
    const waiter = track(pool.acquire());
    factory.next().reject(new Error('demand start failed'));
    await flush();
    assert.equal(waiter.state, 'pending');
    pool.release(held);
    await flush();
    assert.equal(waiter.state, 'resolved');
    pool.release(waiter.value!);
  });
});

describe('Pool: drain', () => {
  test('waits for in-flight leases, rejects new acquires, then stops every worker', async () => {
    const { pool, factory } = makePool({ min: 2, max: 2 });
    await pool.warmUp();
    const lease = await pool.acquire();
    const drained = track(pool.drain());
    assert.equal(pool.drain(), pool.drain(), 'drain() returns the same promise when called twice');
    await assert.rejects(
      pool.acquire(),
      (e: unknown) => e instanceof TitanError && e.code === 'not_found',
    );
    await flush();
    assert.equal(drained.state, 'pending');
    assert.ok(
      factory.workers.every((w) => w.stopCalls === 0),
      'nothing stopped while a lease is out',
    );
    pool.release(lease);
    await flush();
    assert.equal(drained.state, 'resolved');
    assert.deepEqual(
      factory.workers.map((w) => w.stopCalls),
      [1, 1],
    );
    assert.deepEqual(pool.stats(), { warm: 0, busy: 0, starting: 0, queued: 0, inflight: 0 });
  });

  test('queued invocations are still served before the pool closes', async () => {
    const { pool, factory } = makePool({ min: 1, max: 1 });
    await pool.warmUp();
    const held = await pool.acquire();
    const waiter = track(pool.acquire());
    const drained = track(pool.drain());
    pool.release(held);
    await flush();
    assert.equal(waiter.state, 'resolved');
    assert.equal(drained.state, 'pending');
    pool.release(waiter.value!);
    await flush();
    assert.equal(drained.state, 'resolved');
    assert.equal(factory.workers[0].stopCalls, 1);
  });

  test('a container that finishes starting during drain serves the waiter it was started for', async () => {
    const factory = new FakeFactory({ manual: true });
    const { pool } = makePool({ min: 0, max: 1 }, factory);
    const waiter = track(pool.acquire());
    const drained = track(pool.drain());
    factory.next().resolve();
    await flush();
    assert.equal(waiter.state, 'resolved', 'the waiter is served, not left to time out');
    assert.equal(drained.state, 'pending');
    pool.release(waiter.value!);
    await flush();
    assert.equal(drained.state, 'resolved');
    assert.equal(factory.workers[0].stopCalls, 1);
  });

  test('a waiter that times out during drain lets the drain finish', async () => {
    const factory = new FakeFactory({ manual: true });
    const { pool } = makePool({ min: 0, max: 1 }, factory, { queueTimeoutMs: 20 });
    const waiter = track(pool.acquire());
    const drained = track(pool.drain());
    await sleep(40);
    assert.equal(waiter.state, 'rejected');
    assert.equal((waiter.error as TitanError).code, 'overloaded');
    factory.next().resolve(); // the start outlives the waiter
    await flush();
    assert.equal(drained.state, 'resolved');
    assert.equal(factory.workers[0].stopCalls, 1);
  });

  test('a fatal start failure during drain still lets the drain finish', async () => {
    const factory = new FakeFactory({ manual: true });
    const { pool } = makePool({ min: 1, max: 1 }, factory);
    const warm = track(pool.warmUp());
    const drained = track(pool.drain());
    factory.next().reject(new TitanError('function_invalid', 'syntax error in handler'));
    await flush();
    assert.equal(warm.state, 'rejected');
    assert.equal(drained.state, 'resolved');
  });

  test('a crash during drain fails waiters when nothing is left to serve them', async () => {
    const { pool, factory } = makePool({ min: 1, max: 1 });
    await pool.warmUp();
    const held: Lease<FakeWorker> = await pool.acquire();
    const waiter = track(pool.acquire());
    const drained = track(pool.drain());
    factory.workers[0].crash();
    await flush();
    assert.equal(waiter.state, 'rejected');
    assert.equal((waiter.error as TitanError).code, 'sandbox_error');
    assert.equal(drained.state, 'resolved');
    assert.deepEqual(factory.reasons, ['prewarm'], 'no replacement while draining');
    pool.release(held); // after the drain: ignored
  });
});
