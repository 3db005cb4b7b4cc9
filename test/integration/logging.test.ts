// The access log as shipped (level info, buffered asynchronous output): a line per invocation, and
// none lost when the gateway is stopped cleanly right after a burst, the buffer still full.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fn } from '../helpers/harness.ts';
import { startShippedGateway, type ShippedGateway } from '../helpers/shipped-gateway.ts';

const BURST = 600;
const IN_FLIGHT = 32;

describe('access log as shipped', () => {
  let gw: ShippedGateway | undefined;
  before(async () => {
    // One container taking the whole burst at once, started before it (a cold start on a busy machine
    // can outlast the pool's wait).
    gw = await startShippedGateway({
      noop: fn(
        'export default async (event) => ({ n: event.n });\n',
        'version: "1"\npool:\n  min: 1\n  max: 1\n  concurrency: 64\n',
      ),
    });
  });
  after(async () => {
    await gw?.stop('SIGKILL').catch(() => {});
  });

  test('a burst, then SIGTERM: every invocation has its line on stdout, and the exit is clean', async () => {
    const ids: string[] = [];
    const first = await fetch(`${gw!.url}/functions/noop/invoke`, {
      method: 'POST',
      body: '{"n":-1}',
    });
    assert.equal(first.status, 200, await first.clone().text());
    ids.push(first.headers.get('x-invocation-id')!);
    let next = 0;
    const client = async () => {
      while (next < BURST) {
        const n = next++;
        const res = await fetch(`${gw!.url}/functions/noop/invoke`, {
          method: 'POST',
          body: JSON.stringify({ n }),
        });
        assert.equal(res.status, 200, await res.clone().text());
        assert.deepEqual(await res.json(), { n });
        ids.push(res.headers.get('x-invocation-id')!);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, client));
    // At once: the last lines are still in the buffer (it writes every 4 KiB or 200 ms).
    const code = await gw!.stop('SIGTERM');
    const stdout = gw!.stdout();
    gw = undefined;
    assert.equal(code, 0);
    const lines = stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const logged = lines.filter((l) => l.msg === 'invocation');
    assert.equal(
      logged.length,
      BURST + 1,
      `${logged.length} access lines for ${BURST + 1} invocations`,
    );
    assert.deepEqual(new Set(logged.map((l) => l.invocationId)), new Set(ids));
    for (const l of logged) {
      assert.equal(l.level, 30); // info: on by default
      assert.equal(l.fn, 'noop');
      assert.equal(l.outcome, 'ok');
    }
    // The stop is logged after the drain, last, and says nothing was dropped.
    assert.equal(lines.at(-1)!.msg, 'stopped');
    assert.equal(lines.at(-1)!.dropped_log_lines, 0);
  });
});
