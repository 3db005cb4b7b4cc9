// Unit tests for the file event source: real temp directories, a fake publish in place of the event system.
import assert from 'node:assert/strict';
import {
  appendFile,
  mkdir,
  mkdtemp,
  readFile,
  realpath,
  rm,
  unlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, type SourceConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';
import { FsSource, type FsSourceOptions } from '../../gateway/sources/fs-source.ts';
import {
  PublishQueue,
  type PublishFn,
  type QueuedEvent,
} from '../../gateway/sources/publish-queue.ts';

type Published = { topic: string; type: string; data: Record<string, unknown>; source?: string };

/** Poll until `check` returns truthy; fails with `what` and the last value after `ms`. */
async function waitFor<T>(
  what: string,
  check: () => T | undefined | false,
  ms = 10_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > until) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A fake EventSystem.publish: records what it accepted; `failures` calls throw first. */
function fakePublish(
  failures = 0,
  error: () => Error = () =>
    new TitanError('events_unavailable', 'redis is not connected (reconnecting)'),
) {
  const accepted: Published[] = [];
  let calls = 0;
  const publish = async (topic: string, type: string, dataJson: string, source?: string) => {
    calls += 1;
    if (calls <= failures) throw error();
    accepted.push({ topic, type, data: JSON.parse(dataJson), source });
    return `${accepted.length}-0`;
  };
  return { publish, accepted, calls: () => calls, fail: (n: number) => (failures = calls + n) };
}

const DEBOUNCE = 150;
let tmp: string;
let root: string;
let stateDir: string;
const sources: FsSource[] = [];
const logs: string[] = [];

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tfs-'));
  root = path.join(tmp, 'inbox');
  stateDir = path.join(tmp, 'state');
});
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  await rm(tmp, { recursive: true, force: true });
});

function source(
  publish: PublishFn,
  config: Partial<SourceConfig> = {},
  queue: FsSourceOptions['queue'] = { retryBaseMs: 10, retryMaxMs: 50 },
): FsSource {
  const s = new FsSource({
    config: {
      type: 'fs',
      path: root,
      topic: 'files.v1',
      debounceMs: DEBOUNCE,
      recursive: true,
      ignore: [],
      ...config,
    },
    stateDir,
    publish,
    log: (msg, fields) => logs.push(`${msg} ${JSON.stringify(fields)}`),
    queue,
  });
  sources.push(s);
  return s;
}

async function started(...args: Parameters<typeof source>): Promise<FsSource> {
  const s = source(...args);
  await s.start();
  return s;
}

const names = (ps: Published[]) => ps.map((p) => `${p.type} ${p.data.relative}`);

/**
 * Waits for the event of a file written after everything else: by the time it settles, any extra
 * event for the earlier files (which settled at least one debounce before) would already be there.
 */
async function sentinel(accepted: Published[], rel = 'sentinel.txt'): Promise<void> {
  await writeFile(path.join(root, rel), 'x');
  await waitFor(`the event for ${rel}`, () => accepted.some((p) => p.data.relative === rel));
}

describe('fs source: watching', () => {
  test('a file written in chunks over time gives exactly one file_created once it settles', async () => {
    const { publish, accepted } = fakePublish();
    const s = await started(publish);
    const file = path.join(root, 'report.pdf');
    await writeFile(file, 'a'.repeat(1000));
    for (let i = 0; i < 3; i++) {
      await sleep(DEBOUNCE / 3); // gaps shorter than the debounce: still one write
      await appendFile(file, 'b'.repeat(1000));
    }
    await waitFor('file_created', () => accepted.length > 0);
    await sentinel(accepted);
    assert.deepEqual(names(accepted), ['file_created report.pdf', 'file_created sentinel.txt']);
    const [e] = accepted;
    const realRoot = await realpath(root);
    assert.equal(s.root, realRoot);
    assert.equal(e!.topic, 'files.v1');
    assert.equal(e!.source, `fs:${realRoot}`);
    assert.equal(
      e!.data.path,
      path.join(realRoot, 'report.pdf'),
      'the absolute host path, which a function mounts at the same place',
    );
    assert.equal(e!.data.root, realRoot);
    assert.equal(e!.data.size, 4000, 'the size once every chunk was written');
    assert.match(String(e!.data.mtime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('a modification gives file_changed', async () => {
    const { publish, accepted } = fakePublish();
    await started(publish);
    await writeFile(path.join(root, 'a.txt'), 'one');
    await waitFor('file_created', () => accepted.length === 1);
    await appendFile(path.join(root, 'a.txt'), ' two');
    await waitFor('file_changed', () => accepted.length === 2);
    assert.deepEqual(names(accepted), ['file_created a.txt', 'file_changed a.txt']);
    assert.equal(accepted[1]!.data.size, 7);
  });

  test('dotfiles, editor and download temp files, and `ignore` patterns are skipped', async () => {
    const { publish, accepted } = fakePublish();
    await started(publish, { ignore: ['*.bak', 'node_modules'] });
    await mkdir(path.join(root, '.git', 'objects'), { recursive: true });
    await mkdir(path.join(root, 'node_modules', 'x'), { recursive: true });
    const skipped = [
      '.hidden',
      '..two-dots',
      '.a.txt.swp',
      'notes.swp',
      'notes.txt~',
      '.#notes.txt',
      'big.iso.part',
      'f.zip.crdownload',
      'x.tmp',
      'old.bak',
      '.git/objects/ab',
      'node_modules/x/i.js',
    ];
    for (const f of skipped) await writeFile(path.join(root, f), 'x');
    await sentinel(accepted, 'kept.txt');
    assert.deepEqual(names(accepted), ['file_created kept.txt']);
  });

  test('nested directories report the path relative to the root; recursive: false stays at the top', async () => {
    const { publish, accepted } = fakePublish();
    await started(publish);
    await mkdir(path.join(root, 'a', 'b'), { recursive: true });
    await writeFile(path.join(root, 'a', 'b', 'c.txt'), 'x');
    await waitFor('the nested file', () => accepted.length === 1);
    assert.equal(accepted[0]!.data.relative, 'a/b/c.txt');
    assert.equal(accepted[0]!.data.path, path.join(await realpath(root), 'a', 'b', 'c.txt'));

    const flat = fakePublish();
    root = path.join(tmp, 'flat');
    await started(flat.publish, { recursive: false, topic: 'flat' });
    await mkdir(path.join(root, 'sub'));
    await writeFile(path.join(root, 'sub', 'deep.txt'), 'x');
    await sentinel(flat.accepted, 'top.txt');
    assert.deepEqual(names(flat.accepted), ['file_created top.txt']);
  });

  test('prepare() creates the directory (mkdir -p); one it cannot create makes the source failed, not the caller', async () => {
    root = path.join(tmp, 'deep', 'er', 'inbox');
    const s = source(fakePublish().publish);
    await s.prepare();
    assert.deepEqual(s.status(), {
      type: 'fs',
      path: root,
      topic: 'files.v1',
      state: 'prepared',
      pending: 0,
    });
    await writeFile(path.join(tmp, 'a-file'), '');
    root = path.join(tmp, 'a-file', 'inbox');
    const bad = source(fakePublish().publish);
    await bad.start();
    const st = bad.status();
    assert.equal(st.state, 'failed');
    assert.match(st.error ?? '', /cannot create the watched directory .*a-file\/inbox: ENOTDIR/);
  });

  test('close() is idempotent', async () => {
    const s = await started(fakePublish().publish);
    const first = s.close();
    assert.equal(s.close(), first, 'the same promise');
    await first;
    assert.equal(s.status().state, 'closed');
  });

  test('close() during start() stops it (a watcher left open would keep this test process alive)', async () => {
    const s = source(fakePublish().publish);
    const starting = s.start();
    await s.close();
    await starting;
    assert.equal(s.status().state, 'closed');
  });
});

describe('fs source: restarts', () => {
  test('files added, changed and deleted while stopped are found on the next start', async () => {
    await mkdir(root, { recursive: true });
    await writeFile(path.join(root, 'before.txt'), 'there before the first start');
    await writeFile(path.join(root, 'gone.txt'), 'deleted while stopped');
    await writeFile(path.join(root, 'same.txt'), 'unchanged');
    const first = fakePublish();
    const s1 = await started(first.publish);
    await waitFor('the first scan', () => first.accepted.length === 3);
    assert.deepEqual(names(first.accepted).sort(), [
      'file_created before.txt',
      'file_created gone.txt',
      'file_created same.txt',
    ]);
    await s1.close();
    const index = JSON.parse(await readFile(s1.indexFile, 'utf8'));
    assert.deepEqual(Object.keys(index.files).sort(), ['before.txt', 'gone.txt', 'same.txt']);
    assert.equal(path.dirname(s1.indexFile), path.join(stateDir, 'sources'));

    // While the gateway is down:
    await appendFile(path.join(root, 'before.txt'), ', and changed');
    await writeFile(path.join(root, 'new.txt'), 'added while stopped');
    await unlink(path.join(root, 'gone.txt'));

    const second = fakePublish();
    const s2 = await started(second.publish);
    await sentinel(second.accepted);
    assert.deepEqual(names(second.accepted).sort(), [
      'file_changed before.txt',
      'file_created new.txt',
      'file_created sentinel.txt',
    ]);
    await s2.close();
    const after = JSON.parse(await readFile(s2.indexFile, 'utf8'));
    assert.deepEqual(Object.keys(after.files).sort(), [
      'before.txt',
      'new.txt',
      'same.txt',
      'sentinel.txt',
    ]);
  });

  test('another topic on the same directory keeps an index of its own', async () => {
    const a = source(fakePublish().publish);
    const b = source(fakePublish().publish, { topic: 'other' });
    await Promise.all([a.prepare(), b.prepare()]);
    assert.notEqual(a.indexFile, b.indexFile);
  });
});

describe('fs source: publishing', () => {
  test('a publish failing twice is retried: delivered once, in order, indexed only after success', async () => {
    const { publish, accepted, calls, fail } = fakePublish();
    const s = await started(publish);
    fail(2);
    await writeFile(path.join(root, 'a.txt'), 'x');
    await waitFor('two failed attempts', () => calls() >= 2);
    assert.equal(accepted.length, 0);
    await assert.rejects(
      readFile(s.indexFile, 'utf8'),
      /ENOENT/,
      'nothing indexed before the publish succeeded',
    );
    await waitFor('the retry to succeed', () => accepted.length === 1);
    await sentinel(accepted);
    assert.deepEqual(names(accepted), ['file_created a.txt', 'file_created sentinel.txt']);
    assert.equal(calls(), 4, '2 failures + 2 successes');
    assert.ok(
      logs.some((l) => l.startsWith('publish failed; will retry') && l.includes('"attempt":1')),
      'the outage is logged',
    );
  });

  test('the queue keeps order across retries and reports its state', async () => {
    const { publish, accepted } = fakePublish(2);
    const delivered: string[] = [];
    const q = new PublishQueue<string>({
      publish,
      onPublished: (e) => delivered.push(e.meta),
      log: () => {},
      retryBaseMs: 5,
    });
    const ev = (name: string): QueuedEvent<string> => ({
      topic: 't',
      type: 'file_created',
      dataJson: JSON.stringify({ relative: name }),
      source: 's',
      meta: name,
    });
    for (const n of ['a', 'b', 'c']) assert.ok(q.push(ev(n)));
    await waitFor('all three', () => delivered.length === 3);
    assert.deepEqual(delivered, ['a', 'b', 'c']);
    assert.deepEqual(
      accepted.map((p) => p.data.relative),
      ['a', 'b', 'c'],
      'each published once',
    );
    assert.equal(q.state, 'idle');
    await q.close();
    assert.equal(q.push(ev('d')), false, 'a closed queue takes nothing');
  });

  test('an error that cannot go away (a refused topic) stops the source with the reason', async () => {
    const { publish } = fakePublish(
      Infinity,
      () =>
        new TitanError('invalid_request', "'titan.results' is one of the runtime's own streams"),
    );
    const s = await started(publish);
    await writeFile(path.join(root, 'a.txt'), 'x');
    const st = await waitFor('state failed', () =>
      s.status().state === 'failed' ? s.status() : undefined,
    );
    assert.equal(st.pending, 1, 'the event is kept, not dropped');
    assert.match(st.error ?? '', /runtime's own streams/);
  });

  test('a full queue loses nothing: what it refused is found by a rescan once it drains', async () => {
    const { publish, accepted, fail } = fakePublish();
    fail(Infinity);
    const s = await started(publish, {}, { retryBaseMs: 10, retryMaxMs: 20, max: 2 });
    for (const n of ['1', '2', '3', '4', '5']) await writeFile(path.join(root, `${n}.txt`), n);
    await waitFor('the queue to fill and refuse', () =>
      logs.some((l) => l.startsWith('file source queue full')),
    );
    assert.equal(s.status().state, 'retrying');
    assert.equal(s.status().pending, 2);
    fail(0);
    await waitFor('all five', () => accepted.length === 5);
    await sentinel(accepted);
    assert.deepEqual(
      names(accepted).sort(),
      ['1', '2', '3', '4', '5', 'sentinel'].map((n) => `file_created ${n}.txt`),
    );
  });

  test('a file deleted while its event waits is not published', async () => {
    const { publish, accepted, calls, fail } = fakePublish();
    const s = await started(publish);
    fail(Infinity);
    await writeFile(path.join(root, 'a.txt'), 'x');
    await writeFile(path.join(root, 'b.txt'), 'x');
    await waitFor('both queued', () => s.status().pending === 2);
    await unlink(path.join(root, 'b.txt'));
    await waitFor('b dropped', () => s.status().pending === 1);
    assert.ok(calls() > 0);
    fail(0);
    await sentinel(accepted);
    assert.deepEqual(names(accepted), ['file_created a.txt', 'file_created sentinel.txt']);
  });
});

describe('fs source: configuration', () => {
  async function problems(yaml: string): Promise<string> {
    const file = path.join(tmp, 'runtime.yaml');
    await writeFile(file, yaml);
    try {
      await loadConfig({ path: file, cwd: tmp, env: {} });
    } catch (e) {
      assert.ok(e instanceof TitanError && e.code === 'invalid_config', String(e));
      return e.message;
    }
    return assert.fail('expected the config to be refused');
  }

  test('defaults, and the path resolved against the working directory', async () => {
    const file = path.join(tmp, 'runtime.yaml');
    await writeFile(file, 'sources:\n  - { type: fs, path: ./inbox, topic: files.v1 }\n');
    const c = await loadConfig({ path: file, cwd: '/srv/app', env: {} });
    assert.deepEqual(c.sources, [
      {
        type: 'fs',
        path: '/srv/app/inbox',
        topic: 'files.v1',
        debounceMs: 500,
        recursive: true,
        ignore: [],
      },
    ]);
    await writeFile(file, 'sources:\n');
    assert.deepEqual(
      (await loadConfig({ path: file, cwd: tmp, env: {} })).sources,
      [],
      'an empty section means none',
    );
  });

  test('bad entries are reported with their index and key', async () => {
    const msg = await problems(
      [
        'sources:',
        '  - { type: ftp, path: ./a, topic: t }',
        '  - { type: fs, topic: t }',
        '  - { type: fs, path: "", topic: "bad topic" }',
        '  - { type: fs, path: ./b, topic: t, debounce_ms: -1, recursive: "yes", bogus: 1 }',
        '  - { type: fs, path: ./c, topic: t, ignore: "*.bak" }',
      ].join('\n'),
    );
    assert.match(msg, /sources\[0\]\.type: must be one of "fs" \(got "ftp"\)/);
    assert.match(msg, /sources\[1\]\.path: is required/);
    assert.match(msg, /sources\[2\]\.path: must not be empty/);
    assert.match(
      msg,
      /sources\[2\]\.topic: invalid topic "bad topic": topics match \^\[A-Za-z0-9\]/,
    );
    assert.match(msg, /sources\[3\]\.debounce_ms: must be >= 0 \(got -1\)/);
    assert.match(msg, /sources\[3\]\.recursive: must be true or false \(got "yes"\)/);
    assert.match(
      msg,
      /sources\[3\]\.bogus: unknown key \(allowed keys: type, path, topic, debounce_ms, recursive, ignore\)/,
    );
    assert.match(msg, /sources\[4\]\.ignore: must be a list \(got "\*\.bak"\)/);
    assert.match(
      await problems('sources: { type: fs }\n'),
      /sources: must be a list \(got a mapping\)/,
    );
  });

  test("the runtime's own streams and duplicate entries are refused", async () => {
    const msg = await problems(
      [
        'sources:',
        '  - { type: fs, path: ./a, topic: titan.results }',
        '  - { type: fs, path: ./b, topic: titan.q.echo }',
        '  - { type: fs, path: ./c, topic: files }',
        '  - { type: fs, path: c, topic: files }',
      ].join('\n'),
    );
    assert.match(msg, /sources\[0\]\.topic: 'titan\.results' is one of the runtime's own streams/);
    assert.match(msg, /sources\[1\]\.topic: 'titan\.q\.echo' is one of the runtime's own streams/);
    assert.match(msg, /sources\[3\]: same path and topic as sources\[2\] \("c", files\)/);
  });
});
