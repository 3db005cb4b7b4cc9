// Warm pools on the real engine: prewarming, cold starts, queueing to 429, timeouts, out-of-memory
// kills and containers that die under the pool; the gateway keeps serving through all of them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LABEL } from '../../runtime/sandbox.ts';
import { scopeOf } from '../../gateway/gateway.ts';
import { eventually, fn, startHarness, testEngine, type Harness } from '../helpers/harness.ts';

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;
const sleeper = (ms: number) => fn(`export default async (e) => { await new Promise((r) => setTimeout(r, e?.ms ?? ${ms})); return { slept: e?.ms ?? ${ms} }; }`);

describe('pools', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(
      {
        warm: fn('export default async () => "warm"', 'pool: { min: 1, max: 2 }\n'),
        cold: fn('export default async () => "cold"', 'pool: { min: 0, max: 1 }\n'),
        busy: { ...sleeper(1500), 'function.yaml': 'pool: { min: 1, max: 1, concurrency: 1 }\n' },
        slow: { ...sleeper(5000), 'function.yaml': 'timeout_sec: 1\npool: { min: 1, max: 1 }\n' },
        hog: fn(
          `const keep = [];
           export default async (e) => {
             if (!e?.hog) return 'fine';
             for (;;) keep.push(Buffer.alloc(4 << 20, 1));
           };`,
          'resources: { memory: 48Mi }\npool: { min: 1, max: 1 }\n',
        ),
        victim: fn('export default async () => process.pid', 'pool: { min: 1, max: 1 }\n'),
      },
      { pool: { queue_max: 1 } },
    );
  });
  after(() => h.close());

  test('min 1 prewarms: the first call is warm; min 0: the first call is a cold start, the next warm', async () => {
    assert.equal((await h.invoke('warm', {})).headers.get('x-cold-start'), 'false');
    const first = await h.invoke('cold', {});
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-cold-start'), 'true');
    assert.equal((await h.invoke('cold', {})).headers.get('x-cold-start'), 'false');
    assert.match(await (await h.request('/metrics')).text(), /titan_cold_starts_total\{function="cold"\} 1/);
  });

  test('beyond max × concurrency calls queue, and past the queue bound they get 429 with Retry-After', async () => {
    const results = await Promise.all([0, 1, 2].map(() => h.invoke('busy', { ms: 1500 })));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 429], 'one runs, one waits in the queue (queue_max 1), one is refused');
    const refused = results.find((r) => r.status === 429)!;
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal((await errorOf(refused)).code, 'overloaded');
  });

  test('past timeout_sec: 504, the container is replaced, and the next call works', async () => {
    const res = await h.invoke('slow', { ms: 5000 });
    assert.equal(res.status, 504);
    assert.equal((await errorOf(res)).code, 'timeout');
    // The deadline covers queue wait too: wait for the replacement to be warm (on a loaded machine a
    // container start can itself take longer than this function's 1 s timeout).
    const warm = await eventually(async () => ((await (await h.request('/functions/slow')).json()) as { pool: { warm: number } }).pool.warm === 1, 20_000);
    assert.ok(warm, 'the timed-out container was replaced');
    const next = await h.invoke('slow', { ms: 10 });
    assert.equal(next.status, 200);
    assert.deepEqual(await next.json(), { slept: 10 });
  });

  test('a function that exhausts its memory gets 502 out_of_memory; it recovers and the gateway lives', async () => {
    const res = await h.invoke('hog', { hog: true });
    assert.equal(res.status, 502);
    const e = await errorOf(res);
    assert.equal(e.code, 'out_of_memory');
    assert.match(e.message, /memory limit of 50331648 bytes/);
    assert.equal((await h.invoke('warm', {})).status, 200, 'other functions are untouched');
    const again = await h.invoke('hog', {});
    assert.equal(again.status, 200, 'the container was replaced');
    assert.equal(await again.json(), 'fine');
  });

  test('a container killed from outside is replaced and the next call works', async () => {
    const pidBefore = await (await h.invoke('victim', {})).json();
    const engine = testEngine();
    const mine = await engine.listByLabels({ [LABEL.scope]: scopeOf(h.config.state_dir), [LABEL.fn]: 'victim' });
    assert.equal(mine.length, 1);
    await engine.remove(mine[0]!.id);
    const replaced = await eventually(async () => {
      const now = await engine.listByLabels({ [LABEL.scope]: scopeOf(h.config.state_dir), [LABEL.fn]: 'victim' });
      const info = (await (await h.request('/functions/victim')).json()) as { pool: { warm: number } };
      return now.length === 1 && now[0]!.id !== mine[0]!.id && info.pool.warm === 1;
    }, 15_000);
    assert.ok(replaced, 'a new container took its place');
    const res = await h.invoke('victim', {});
    assert.equal(res.status, 200);
    assert.equal(typeof pidBefore, 'number');
  });
});
