// Reading streams with the project's own tools, against a real gateway (real engine, real Redis) on a
// port: GET /events/:topic and GET /results, and the `titan` commands over them (`events tail`, `-f`,
// `results`, `dlq`), plus `titan secret set|ls|rm` end to end: what the README's walk-throughs use
// instead of redis-cli.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { eventually, fn, startHarness, type Harness } from '../helpers/harness.ts';
import { json, sharedRedisUrl, uniquePrefix } from '../helpers/events.ts';

const TITAN = fileURLToPath(new URL('../../bin/titan.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `titan` against the gateway; with `stopWhen`, kills it once stdout satisfies it (for -f). */
function titan(
  port: number,
  args: string[],
  opts: { stdin?: string; stopWhen?: (out: string) => boolean; seen?: (out: string) => void } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TITAN, ...args], {
      env: { ...process.env, TITAN_URL: `http://127.0.0.1:${port}`, TITAN_ADMIN_TOKEN: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
      opts.seen?.(stdout);
      if (opts.stopWhen?.(stdout)) child.kill();
    });
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

describe('reading streams through the gateway and the CLI', () => {
  let h: Harness;
  let port: number;
  const publish = (topic: string, type: string, data: unknown) =>
    h.request(`/events/${topic}`, { method: 'POST', body: JSON.stringify({ type, data }) });

  before(async () => {
    await sharedRedisUrl();
    h = await startHarness(
      {
        receipt: fn(
          `export default async (event) => ({ receipt: event.data.n * 100 });`,
          'triggers:\n  - topic: shop.orders\n',
        ),
        fails: fn(
          `export default async () => { throw new Error('always fails'); };`,
          'max_attempts: 1\ntriggers:\n  - topic: shop.broken\n',
        ),
      },
      { events: { key_prefix: uniquePrefix() } },
    );
    port = await h.gw.listen();
  });
  after(() => h?.close());

  test('GET /events/:topic: the newest entries oldest first, or those after an id', async () => {
    for (let n = 1; n <= 3; n++)
      assert.equal((await publish('shop.orders', 'order_placed', { n })).status, 201);
    const last2 = await json(h.request('/events/shop.orders?count=2'));
    assert.equal(last2.status, 200);
    assert.deepEqual(
      last2.body.entries.map((e: { data: string }) => JSON.parse(e.data).n),
      [2, 3],
    );
    const first = (await json(h.request('/events/shop.orders?count=3'))).body.entries[0].id;
    const after = await json(h.request(`/events/shop.orders?after=${first}`));
    assert.deepEqual(
      after.body.entries.map((e: { data: string }) => JSON.parse(e.data).n),
      [2, 3],
    );
    assert.deepEqual((await json(h.request('/events/never.written'))).body.entries, []);
  });

  test("GET /results and `titan results` show each event invocation's outcome", async () => {
    const results = await eventually(async () => {
      const r = (await json(h.request('/results?count=100'))).body.entries as Array<{
        function: string;
        status: string;
        result?: string;
      }>;
      return r.filter((e) => e.function === 'receipt').length === 3 ? r : undefined;
    }, 20_000);
    assert.ok(results, 'three results of receipt');
    const out = await titan(port, ['results', '--count', '100']);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout
      .trim()
      .split('\n')
      .filter((l) => l.includes('"function":"receipt"'));
    assert.equal(lines.length, 3);
    // The three ran concurrently (max_inflight_per_function): their outcomes land in any order.
    for (const line of lines) assert.match(line, /^\d+-\d+ \{.*"result":\{"receipt":\d00\}/);
    const receipts = lines.map((l) => Number(/"receipt":(\d+)/.exec(l)![1])).sort((a, b) => a - b);
    assert.deepEqual(receipts, [100, 200, 300]);
  });

  test('`titan events tail <topic>` prints the newest events; -f prints new ones as they arrive', async () => {
    const tail = await titan(port, ['events', 'tail', 'shop.orders', '--count', '2']);
    assert.equal(tail.code, 0, tail.stderr);
    const lines = tail.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /^\d+-\d+ \{"type":"order_placed","data":\{"n":3\}/);

    let printed = '';
    const following = titan(port, ['events', 'tail', 'shop.orders', '--count', '1', '-f'], {
      stopWhen: (o) => o.includes('"n":4'),
      seen: (o) => (printed = o),
    });
    assert.ok(
      await eventually(() => printed.includes('"n":3'), 20_000),
      'the tail was printed before the new event is published',
    );
    await publish('shop.orders', 'order_placed', { n: 4 });
    const followed = await following;
    const seen = followed.stdout.trim().split('\n');
    assert.match(seen[0]!, /"n":3/);
    assert.match(seen.at(-1)!, /"n":4/);
  });

  test('`titan dlq` lists dead letters; a reserved or malformed topic is refused by the CLI as by the API', async () => {
    await publish('shop.broken', 'x', {});
    const dead = await eventually(
      async () => {
        const r = await titan(port, ['dlq']);
        return r.stdout.includes('always fails') ? r : undefined;
      },
      20_000,
      300,
    );
    assert.ok(dead, 'the failed event is in the DLQ');
    const reserved = await titan(port, ['events', 'tail', 'titan.results']);
    assert.equal(reserved.code, 1);
    assert.match(
      reserved.stderr,
      /^error: invalid_topic: 'titan.results' is one of the runtime's own streams/,
    );
  });

  test('`titan secret set|ls|rm` from stdin and from a file; the value is never printed', async () => {
    const set = await titan(port, ['secret', 'set', 'db-pass'], { stdin: 'hunter2-from-stdin' });
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stderr, /secret 'db-pass' created \(18 bytes\)/);
    const file = join(h.dir, 'value.txt');
    await writeFile(file, 'hunter3-from-file');
    const again = await titan(port, ['secret', 'set', 'db-pass', '--file', file]);
    assert.match(again.stderr, /secret 'db-pass' updated \(17 bytes\)/);
    assert.equal(await readSecret(h, 'db-pass'), 'hunter3-from-file');
    const ls = await titan(port, ['secret', 'ls']);
    assert.match(ls.stdout, /^NAME {5}UPDATED\ndb-pass {2}\d{4}-\d\d-\d\dT/);
    for (const out of [set, again, ls])
      assert.ok(!`${out.stdout}${out.stderr}`.includes('hunter'), 'no value printed');
    const bad = await titan(port, ['secret', 'set', '../etc'], { stdin: 'x' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid_name|not_found/);
    assert.equal((await titan(port, ['secret', 'rm', 'db-pass'])).code, 0);
    const gone = await titan(port, ['secret', 'rm', 'db-pass']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: not_found: no secret named 'db-pass'/);
  });
});

const readSecret = (h: Harness, name: string): Promise<string> =>
  readFile(join(h.config.stateDir, 'secrets', name), 'utf8');
