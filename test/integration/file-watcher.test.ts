// The built-in function functions/file_watcher deployed as it is (with its node_modules, its allow
// path pointed at a temporary inbox) on the real engine, with real Redis and the fs source on that
// inbox: HTTP invocations on a real PDF and a Markdown file, the file_summary event on files.v1, a
// file copied into the inbox summarised end to end, and a corrupt one retried into the DLQ.
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import YAML from 'yaml';
import { errorOf, newHarnessDir, startHarness, type Harness } from '../helpers/harness.ts';
import {
  deletePrefix,
  json,
  readStream,
  redisClient,
  sharedRedisUrl,
  uniquePrefix,
  waitFor,
} from '../helpers/events.ts';
import { makePdf } from '../helpers/pdf.ts';

const FOLDER = fileURLToPath(new URL('../../functions/file_watcher/', import.meta.url));
const TOPIC = 'files.v1';

interface Summary {
  path: string;
  title?: string;
  summary: string;
  chars: number;
  pages?: number;
}

/** Copies the real folder (node_modules included) into the harness's functions directory, allowing `inbox`. */
async function deployCopy(functionsDir: string, inbox: string): Promise<void> {
  const dest = join(functionsDir, 'file_watcher');
  const installed = await stat(join(FOLDER, 'node_modules', 'unpdf')).then(
    () => true,
    () => false,
  );
  assert.ok(
    installed,
    'functions/file_watcher/node_modules is missing: `npm run setup` installs it',
  );
  await cp(FOLDER, dest, { recursive: true });
  const manifest = YAML.parse(await readFile(join(dest, 'function.yaml'), 'utf8'));
  assert.deepEqual(
    manifest.permissions.fs.allow,
    ['./inbox/**'],
    'the shipped manifest allows ./inbox',
  );
  manifest.permissions.fs.allow = [`${inbox}/**`];
  await writeFile(join(dest, 'function.yaml'), YAML.stringify(manifest));
}

describe('file_watcher', () => {
  let h: Harness;
  let redis: Redis;
  let inbox = '';
  const P = uniquePrefix();
  const summaries = async () =>
    (await readStream(redis, P + TOPIC)).filter((e) => e.fields.type === 'file_summary');

  before(async () => {
    redis = redisClient(await sharedRedisUrl());
    const dir = await newHarnessDir();
    inbox = join(dir, 'inbox');
    await mkdir(inbox);
    inbox = await realpath(inbox);
    await writeFile(
      join(inbox, 'report.pdf'),
      makePdf({
        title: 'Q3 Report',
        pages: ['Quarterly report.\nRevenue grew by 12 percent.', 'Costs fell.'],
      }),
    );
    await writeFile(
      join(inbox, 'notes.md'),
      `# Release notes\n\n${'Titan now summarises documents dropped into its inbox. '.repeat(12)}\n`,
    );
    await mkdir(join(dir, 'functions'));
    await deployCopy(join(dir, 'functions'), inbox);
    h = await startHarness(
      {},
      {
        events: { key_prefix: P, retry_base_ms: 50 },
        sandbox: { fs_roots: [inbox] },
        sources: [
          { type: 'fs', path: inbox, topic: TOPIC, debounce_ms: 200, recursive: true, ignore: [] },
        ],
      },
      { dir },
    );
    const { functions } = (await (await h.request('/functions')).json()) as {
      functions: Array<{ name: string; status: string; error?: string }>;
    };
    assert.deepEqual(
      functions.map((f) => [f.name, f.status, f.error]),
      [['file_watcher', 'ready', undefined]],
    );
    redis.on('error', () => {});
  });
  after(async () => {
    await h?.close();
    if (redis) {
      await deletePrefix(redis, P);
      redis.disconnect();
    }
  });

  test('a PDF over HTTP: text, title and pages, returned and emitted as file_summary on files.v1', async () => {
    const res = await json(h.invoke('file_watcher', { path: join(inbox, 'report.pdf') }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const expected: Summary = {
      path: join(inbox, 'report.pdf'),
      title: 'Q3 Report',
      summary: 'Quarterly report. Revenue grew by 12 percent. Costs fell.',
      chars: 57,
      pages: 2,
    };
    assert.deepEqual(res.body, expected);
    const emitted = await waitFor('the file_summary event', async () =>
      (await summaries()).find((e) => JSON.parse(e.fields.data!).path === expected.path),
    );
    assert.deepEqual(JSON.parse(emitted.fields.data!), expected);
    assert.equal(emitted.fields.source, 'function:file_watcher');
  });

  test('Markdown over HTTP, by a path relative to the inbox: at most 300 characters of whole sentences', async () => {
    const res = await json(h.invoke('file_watcher', { path: 'notes.md' }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const body = res.body as Summary;
    assert.equal(body.title, 'Release notes');
    assert.ok(
      body.summary.length <= 300 && body.summary.length > 150,
      `${body.summary.length}: ${body.summary}`,
    );
    assert.match(
      body.summary,
      /^Titan now summarises documents dropped into its inbox\. .*inbox\.$/,
    );
    assert.equal(
      body.chars,
      'Titan now summarises documents dropped into its inbox. '.repeat(12).trim().length,
    );
  });

  test('bad files are function errors, a bad request or an unsupported type is rejected; each says which', async () => {
    const cases: Array<[unknown, number, string, RegExp]> = [
      [
        { path: 'data.csv' },
        400,
        'function_rejected',
        /^unsupported_type: data\.csv: unsupported file type '\.csv'/,
      ],
      [{ path: 'missing.md' }, 500, 'function_error', /^not_found: missing\.md: no such file/],
      [
        { path: '/etc/passwd.md' },
        500,
        'function_error',
        /^not_readable: \/etc\/passwd\.md: outside the directories file_watcher may read/,
      ],
      [{ file: 'x' }, 400, 'function_rejected', /^invalid_input: expected \{ "path": "<file>" \}/],
      [
        { path: '../x.md' },
        400,
        'function_rejected',
        /^invalid_input: \.\.\/x\.md: '\.\.' is not allowed/,
      ],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await h.invoke('file_watcher', body);
      assert.equal(res.status, status, JSON.stringify(body));
      const e = await errorOf(res);
      assert.equal(e.code, code);
      assert.match(e.message, message);
    }
  });

  test('end to end: a PDF copied into the inbox yields one file_summary event', async () => {
    const name = `dropped-${Date.now()}.pdf`;
    await writeFile(
      join(inbox, name),
      makePdf({ pages: ['Dropped into the inbox.\nThe pipeline ran by itself.'] }),
    );
    const event = await waitFor(
      'the dropped file to be summarised',
      async () =>
        (await summaries()).find((e) => JSON.parse(e.fields.data!).path === join(inbox, name)),
      60_000,
    );
    assert.deepEqual(JSON.parse(event.fields.data!), {
      path: join(inbox, name),
      summary: 'Dropped into the inbox. The pipeline ran by itself.',
      chars: 51,
      pages: 1,
    });
    const created = (await readStream(redis, P + TOPIC)).filter(
      (e) =>
        e.fields.type === 'file_created' && JSON.parse(e.fields.data!).path === join(inbox, name),
    );
    assert.equal(created.length, 1, 'one file_created per settled write');
  });

  test('a .txt file dropped in is dead-lettered after one attempt as function_rejected (an unsupported type is not retried)', async () => {
    const name = `notes-${Date.now()}.txt`;
    await writeFile(join(inbox, name), 'plain text file_watcher does not read\n');
    const dead = await waitFor(
      'the DLQ entry',
      async () =>
        (await readStream(redis, `${P}titan.dlq`)).find((e) => e.fields.data?.includes(name)),
      60_000,
    );
    assert.equal(dead.fields.function, 'file_watcher');
    assert.equal(dead.fields.attempts, '1', 'not retried');
    const error = JSON.parse(dead.fields.error!) as { code: string; message: string };
    assert.equal(error.code, 'function_rejected');
    assert.match(
      error.message,
      /^unsupported_type: .*notes-\d+\.txt: unsupported file type '\.txt'/,
    );
  });

  test('a corrupt PDF dropped in is retried, then dead-lettered with the reason; the gateway keeps serving', async () => {
    const name = `corrupt-${Date.now()}.pdf`;
    await writeFile(
      join(inbox, name),
      Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(2000, 0x41)]),
    );
    const dead = await waitFor(
      'the DLQ entry',
      async () =>
        (await readStream(redis, `${P}titan.dlq`)).find((e) => e.fields.data?.includes(name)),
      60_000,
    );
    assert.equal(dead.fields.function, 'file_watcher');
    assert.equal(dead.fields.attempts, '2', 'max_attempts in the manifest');
    assert.match(JSON.parse(dead.fields.error!).message, /^corrupt: .*the PDF is corrupt/);
    const again = await h.invoke('file_watcher', { path: 'report.pdf' });
    assert.equal(again.status, 200);
  });
});
