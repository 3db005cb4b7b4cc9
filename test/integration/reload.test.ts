// Hot reload under load: a redeploy while requests flow fails none of them. New containers warm up
// first, traffic moves to them, old ones drain their in-flight work and stop.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fn, startHarness, type Harness } from '../helpers/harness.ts';

const handler = (version: string) =>
  `export default async () => { await new Promise((r) => setTimeout(r, 5)); return "${version}"; }`;

describe('hot reload', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      live: fn(handler('v1'), 'pool: { min: 2, max: 4, concurrency: 2 }\n'),
    });
  });
  after(() => h.close());

  test('a redeploy under steady concurrent load fails no request', async () => {
    const seen = new Map<string, number>();
    const failures: string[] = [];
    let stop = false;
    let sent = 0;
    // 8 clients in closed loops, bounded by count and by the flag below.
    const client = async () => {
      while (!stop && sent < 20_000) {
        sent++;
        const res = await h.invoke('live', {});
        if (res.status !== 200) failures.push(`${res.status} ${await res.text()}`);
        else {
          const v = (await res.json()) as string;
          seen.set(v, (seen.get(v) ?? 0) + 1);
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await new Promise((r) => setTimeout(r, 500));
    await writeFile(join(h.functionsDir, 'live', 'index.js'), handler('v2'));
    const deadline = Date.now() + 20_000;
    while (!seen.has('v2') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500)); // keep the load on while the old version drains
    stop = true;
    await Promise.all(clients);
    assert.deepEqual(failures, [], 'no request failed');
    assert.ok((seen.get('v1') ?? 0) > 0, 'served by the old version before');
    assert.ok((seen.get('v2') ?? 0) > 0, 'and by the new one after');
    const info = (await (await h.request('/functions/live')).json()) as {
      pool: { warm: number; busy: number };
    };
    assert.ok(info.pool.warm + info.pool.busy >= 2, 'the new version kept its warm minimum');
  });
});
