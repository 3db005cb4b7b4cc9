// /healthz's decision (gateway/health.ts) on fakes of its inputs: ready, degraded (Redis away, a
// pool failing to start, a file source down), unavailable (no engine, 503); the shape anonymous
// callers get; and one engine ping per second however many checks arrive.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ENGINE_PING_TTL_MS, FailingPools, Health } from '../../gateway/health.ts';
import { TitanError } from '../../runtime/errors.ts';

function setup() {
  const state = {
    engineUp: true,
    pings: 0,
    trigger: 'subscribed' as string,
    sources: [] as unknown[],
    deployed: new Set(['a', 'b']),
    now: 0,
  };
  const failingPools = new FailingPools();
  const health = new Health({
    engine: {
      ping: async () => {
        state.pings++;
        if (!state.engineUp) throw new TitanError('engine_unavailable', 'connect ENOENT /x.sock');
        return { serverVersion: '20.10', apiVersion: '1.41', os: 'linux' };
      },
    },
    events: {
      health: () => ({
        state: state.trigger as 'subscribed',
        group: 'plugins',
        consumer: 'vm-1-abc',
        topics: [],
      }),
    },
    registry: {
      list: () => [],
      get: (fn: string) => (state.deployed.has(fn) ? ({} as never) : undefined),
    },
    sources: () => state.sources,
    failingPools,
    now: () => state.now,
  });
  const tick = () => (state.now += ENGINE_PING_TTL_MS);
  return { state, health, failingPools, tick };
}

describe('/healthz for balancers', () => {
  test('ready; the full report keeps the existing fields and adds serving', async () => {
    const { health } = setup();
    const r = await health.report(true);
    assert.equal(r.code, 200);
    assert.equal(r.body.status, 'ok');
    assert.equal(r.body.serving, 'ready');
    for (const k of ['engine', 'triggers', 'functions', 'sources']) assert.ok(k in r.body, k);
    assert.equal('degraded' in r.body, false);
  });

  test('degraded but serving: Redis away, a failing pool (until a start succeeds), a source down', async () => {
    const { state, health, failingPools, tick } = setup();
    state.trigger = 'disconnected';
    let r = await health.report(true);
    assert.equal(r.code, 200, 'still serving: a balancer keeps the host');
    assert.equal(r.body.serving, 'degraded');
    assert.deepEqual(r.body.degraded, ['events: disconnected']);
    state.trigger = 'disabled'; // no Redis by configuration: not a fault
    assert.equal((await health.report(true)).body.serving, 'ready');

    const err = new Error('image missing');
    failingPools.onPoolEvent('a', { kind: 'start_failed', reason: 'prewarm', error: err });
    failingPools.onPoolEvent('gone', { kind: 'start_failed', reason: 'prewarm', error: err });
    tick();
    r = await health.report(true);
    assert.deepEqual(r.body.degraded, ['containers failing to start: a'], 'removed ones ignored');
    failingPools.onPoolEvent('a', { kind: 'started', reason: 'prewarm', ms: 250 });
    assert.equal((await health.report(true)).body.serving, 'ready');

    state.sources = [{ type: 'fs', path: '/in', topic: 't', state: 'failed', pending: 0 }];
    r = await health.report(true);
    assert.deepEqual(r.body.degraded, ['file sources down: /in']);
  });

  test('unavailable without an engine: 503', async () => {
    const { state, health } = setup();
    state.engineUp = false;
    const r = await health.report(true);
    assert.equal(r.code, 503);
    assert.equal(r.body.serving, 'unavailable');
    assert.equal(r.body.status, 'unavailable');
    assert.deepEqual(r.body.engine, { reachable: false, error: 'connect ENOENT /x.sock' });
  });

  test('anonymous callers learn status and serving, nothing else, in every state', async () => {
    const { state, health, failingPools, tick } = setup();
    const err = new Error('x');
    failingPools.onPoolEvent('a', { kind: 'start_failed', reason: 'prewarm', error: err });
    state.trigger = 'disconnected';
    const degraded = await health.report(false);
    assert.deepEqual(degraded, { code: 200, body: { status: 'ok', serving: 'degraded' } });
    state.engineUp = false;
    tick();
    const down = await health.report(false);
    assert.deepEqual(down, { code: 503, body: { status: 'unavailable', serving: 'unavailable' } });
  });

  test('one engine ping per second, however many checks (a flood costs the engine nothing)', async () => {
    const { state, health, tick } = setup();
    await Promise.all(Array.from({ length: 500 }, () => health.report(false)));
    assert.equal(state.pings, 1);
    await health.report(true);
    assert.equal(state.pings, 1, 'within the second: the same answer');
    tick();
    await health.report(false);
    assert.equal(state.pings, 2);
    // An engine that went away is seen within the second too.
    state.engineUp = false;
    tick();
    assert.equal((await health.report(false)).code, 503);
  });
});
