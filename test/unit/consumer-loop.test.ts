// The loop and the reclaim rule the event router and workers share (gateway/events/consumer-loop.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Reclaimer, runTurns } from '../../gateway/events/consumer-loop.ts';
import type { RedisClient } from '../../gateway/events/redis.ts';

describe('consumer loop', () => {
  test('a turn that throws is reported and the loop goes on until it is stopped', async () => {
    let turns = 0;
    const errors: string[] = [];
    let running = true;
    await runTurns(
      () => running,
      async () => {
        turns++;
        if (turns === 2) throw new Error('redis away');
        if (turns === 3) running = false;
      },
      (err) => errors.push((err as Error).message),
    );
    assert.equal(turns, 3, 'the turn after the failure ran, and none after the stop');
    assert.deepEqual(errors, ['redis away']);
  });

  test('a loop that is not running runs no turn', async () => {
    let turns = 0;
    await runTurns(
      () => false,
      async () => {
        turns++;
      },
      () => {},
    );
    assert.equal(turns, 0);
  });

  test('reclaiming is due at most once per half reclaim_idle_sec', () => {
    const r = new Reclaimer(
      {} as RedisClient,
      { group: 'g', reclaimIdleSec: 10, blockMs: 1000 },
      'me',
    );
    assert.equal(r.due(100_000), true, 'the first check');
    assert.equal(r.due(100_000 + 4_999), false);
    assert.equal(r.due(100_000 + 5_000), false, 'exactly half is not past it');
    assert.equal(r.due(100_000 + 5_001), true);
    assert.equal(r.due(100_000 + 5_002), false, 'and the clock starts over');
  });
});
