// The file source end to end: an in-process gateway with a `sources:` entry, real Redis and the real
// engine. A file copied into the watched directory becomes a `file_created` entry on the topic's
// stream, and a function triggered by it opens `data.path` through its read-only fs mount.
import assert from 'node:assert/strict';
import { copyFile, realpath, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { fn, newHarnessDir, startHarness, type Harness } from '../helpers/harness.ts';
import {
  deletePrefix,
  json,
  readStream,
  redisClient,
  sharedRedisUrl,
  uniquePrefix,
  waitFor,
} from '../helpers/events.ts';

describe('file source', () => {
  let h: Harness;
  let redis: Redis;
  let inbox = '';
  const P = uniquePrefix();

  before(async () => {
    redis = redisClient(await sharedRedisUrl());
    const dir = await newHarnessDir();
    inbox = join(dir, 'inbox'); // missing on purpose: the gateway creates it before deploying `reader`
    const manifest = [
      'version: "1"',
      'triggers:',
      '  - { topic: files.v1, event_type: file_created }',
      `permissions: { fs: { allow: [${JSON.stringify(inbox)}] } }`,
    ].join('\n');
    h = await startHarness(
      {
        reader: fn(
          `import { readFile } from 'node:fs/promises';
           export default async (event) => ({ type: event.type, data: event.data, text: await readFile(event.data.path, 'utf8') });`,
          manifest,
        ),
      },
      {
        events: { key_prefix: P },
        sandbox: { fs_roots: [inbox] },
        sources: [
          {
            type: 'fs',
            path: inbox,
            topic: 'files.v1',
            debounce_ms: 200,
            recursive: true,
            ignore: [],
          },
        ],
      },
      { dir },
    );
  });

  after(async () => {
    await h?.close();
    if (redis) {
      await deletePrefix(redis, P);
      redis.disconnect();
    }
  });

  test('the directory exists before functions deploy, owned by the gateway user; /healthz shows the source', async () => {
    assert.equal((await stat(inbox)).uid, process.getuid!());
    const real = await realpath(inbox);
    const health = await waitFor('the source to watch', async () => {
      const { body } = await json(h.request('/healthz'));
      return body.sources?.[0]?.state === 'watching' ? body : undefined;
    });
    assert.deepEqual(health.sources, [
      { type: 'fs', path: real, topic: 'files.v1', state: 'watching', pending: 0 },
    ]);
  });

  test('a file copied in becomes one file_created event, and the triggered function reads it by data.path', async () => {
    const real = await realpath(inbox);
    const src = join(h.dir, 'outside.txt');
    await writeFile(src, 'hello from the inbox\n');
    await copyFile(src, join(inbox, 'doc.txt'));

    const entry = await waitFor('file_created on the topic stream', async () =>
      (await readStream(redis, `${P}files.v1`)).find((e) => e.fields.type === 'file_created'),
    );
    assert.equal(entry.fields.source, `fs:${real}`);
    const data = JSON.parse(entry.fields.data!);
    assert.equal(data.path, join(real, 'doc.txt'));
    assert.equal(data.relative, 'doc.txt');
    assert.equal(data.root, real);
    assert.equal(data.size, 21);
    assert.ok(!Number.isNaN(Date.parse(data.mtime)), `mtime is a date: ${data.mtime}`);

    const result = await waitFor('the reader function to run', async () =>
      (await readStream(redis, `${P}titan.results`)).find(
        (e) => e.fields.function === 'reader' && e.fields.event_id === entry.id,
      ),
    );
    assert.equal(result.fields.outcome, 'ok', result.fields.error);
    const out = JSON.parse(result.fields.result!);
    assert.equal(
      out.text,
      'hello from the inbox\n',
      'the function opened the same absolute path through its mount',
    );
    assert.deepEqual(out.data, data);
    assert.equal(
      (await readStream(redis, `${P}files.v1`)).length,
      1,
      'exactly one event for the copy',
    );
  });
});
