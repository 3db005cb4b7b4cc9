// The containers dial in to the gateway (runtime/dial-in.ts): bursts of concurrent calls on one
// container get the connections they need from either bootstrap, and a call that waits for a
// connection still ends at its deadline.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorOf, fn, startHarness, type Harness } from '../helpers/harness.ts';

const ONE_WIDE = 'pool: { min: 1, max: 1, concurrency: 64 }\n';

describe('dial-in connections', { timeout: 120_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      fast: fn('module.exports = async (e) => e;', ONE_WIDE),
      pyfast: {
        'function.yaml': `runtime: python\n${ONE_WIDE}`,
        'main.py': 'def handler(event, context):\n    return event\n',
      },
      // The first call blocks the container's only thread: its bootstrap can dial nothing more.
      stuck: fn(
        'module.exports = async () => { const until = Date.now() + 60_000; while (Date.now() < until); };',
        `${ONE_WIDE}timeout_sec: 2\n`,
      ),
    });
  });
  after(() => h.close());

  for (const name of ['fast', 'pyfast']) {
    test(`${name}: 3 bursts of 32 concurrent calls on one container all answer`, async () => {
      for (let burst = 0; burst < 3; burst++) {
        const replies = await Promise.all(
          Array.from({ length: 32 }, (_, i) => h.invoke(name, { burst, i })),
        );
        assert.deepEqual(
          replies.map((r) => r.status),
          Array(32).fill(200),
        );
        const bodies = await Promise.all(replies.map((r) => r.json()));
        assert.deepEqual(
          bodies,
          Array.from({ length: 32 }, (_, i) => ({ burst, i })),
          'each call got its own answer',
        );
      }
    });
  }

  test('a call waiting for a connection the container cannot dial ends at its deadline with 504', async () => {
    const started = Date.now();
    const [first, second] = await Promise.all([h.invoke('stuck', {}), h.invoke('stuck', {})]);
    const waited = Date.now() - started;
    for (const res of [first, second]) {
      assert.equal(res.status, 504);
      assert.equal((await errorOf(res)).code, 'timeout');
    }
    assert.ok(waited < 15_000, `both ended near the 2 s deadline, not later (${waited} ms)`);
  });
});
