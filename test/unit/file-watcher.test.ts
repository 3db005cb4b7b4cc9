// Unit tests for the built-in function functions/file_watcher, run on the host: the 300-character
// summary, text out of real PDFs (written by test/helpers/pdf.ts) and Markdown, and every refusal.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fileWatcher, { summarizeFile } from '../../functions/file_watcher/index.ts';
import { FileError } from '../../functions/file_watcher/errors.ts';
import { SUMMARY_MAX, summarize } from '../../functions/file_watcher/summary.ts';
import { makePdf } from '../helpers/pdf.ts';

const LOREM =
  'Titan runs functions in warm containers. Each call costs well under a millisecond of overhead. ';
const graphemes = (s: string) =>
  [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(s)].map((g) => g.segment);

/** No lone surrogate anywhere: a cut inside a surrogate pair leaves one. */
const wellFormed = (s: string) =>
  !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

describe('file_watcher summary', () => {
  test('short text is returned whole, whitespace collapsed', () => {
    assert.equal(summarize('  Hello\n\n  world.\t'), 'Hello world.');
  });

  test('long text: whole leading sentences within 300 characters', () => {
    const text = LOREM.repeat(20);
    const s = summarize(text);
    assert.ok(s.length <= SUMMARY_MAX, `${s.length}`);
    assert.ok(s.length > SUMMARY_MAX / 2, 'as many whole sentences as fit');
    assert.ok(text.startsWith(s), 'a prefix of the text');
    assert.match(s, /\.$/, 'ends at a sentence end');
  });

  test('one long sentence: whole words and an ellipsis, never a broken word', () => {
    const words = Array.from({ length: 200 }, (_, i) => `word${i}`);
    const s = summarize(words.join(' '));
    assert.ok(s.length <= SUMMARY_MAX, `${s.length}`);
    assert.match(s, /^word0 word1 .* word\d+…$/);
    for (const w of s.slice(0, -1).split(' '))
      assert.ok(words.includes(w), `'${w}' is a whole word`);
  });

  test('emoji, combining marks and CJK: no character is cut in half', () => {
    for (const unit of ['👩‍👩‍👧 family ', 'e\u0301te\u0301 ', '日本語の文章です', '🙂']) {
      const text = unit.repeat(400);
      const s = summarize(text);
      assert.ok(s.length <= SUMMARY_MAX, `${JSON.stringify(unit)}: ${s.length}`);
      assert.ok(wellFormed(s), `${JSON.stringify(unit)}: well-formed UTF-16`);
      const body = s.endsWith('…') ? s.slice(0, -1) : s;
      const whole = graphemes(text);
      assert.deepEqual(
        graphemes(body),
        whole.slice(0, graphemes(body).length),
        `${JSON.stringify(unit)}: whole graphemes of the text`,
      );
    }
  });

  test('a single word longer than the limit is cut between graphemes', () => {
    const s = summarize('🙂'.repeat(500));
    assert.equal(s, `${'🙂'.repeat(149)}…`);
  });
});

describe('file_watcher on files', () => {
  let dir: string;
  let outside: string;
  const call = (p: string, config = {}) => summarizeFile({ path: p }, { config }, [dir]);
  /** Runs fn, expects a FileError with `code`, returns its message. */
  const refused = async (fn: () => Promise<unknown>, code: string): Promise<string> => {
    const err = await fn().then(
      () => assert.fail(`expected ${code}`),
      (e: Error & { code?: string }) => e,
    );
    assert.equal(err.code, code, err.message);
    assert.ok(err.message.startsWith(`${code}: `), err.message);
    return err.message;
  };

  before(async () => {
    const tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'titan-fw-')));
    dir = path.join(tmp, 'inbox');
    outside = path.join(tmp, 'outside');
    await mkdir(path.join(dir, 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(
      path.join(dir, 'report.pdf'),
      makePdf({
        title: 'Q3 Report',
        pages: ['Quarterly report.\nRevenue grew by 12 percent.', 'Costs fell (slightly).'],
      }),
    );
    await writeFile(
      path.join(dir, 'long.pdf'),
      makePdf({ pages: Array.from({ length: 3 }, () => LOREM.repeat(6)) }),
    );
    await writeFile(path.join(dir, 'locked.pdf'), makePdf({ pages: ['secret'], encrypted: true }));
    await writeFile(
      path.join(dir, 'broken.pdf'),
      Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(600, 0x37)]),
    );
    await writeFile(path.join(dir, 'fake.pdf'), 'just text');
    await writeFile(
      path.join(dir, 'sub', 'notes.md'),
      '# Notes on *Titan*\n\nIntro with a [link](http://x) and `code`.\n\n- item one\n- item two\n\n```js\nsecret()\n```\n\n## Next\nShip it.\n',
    );
    await writeFile(path.join(dir, 'latin1.md'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    await writeFile(path.join(dir, 'data.csv'), 'a,b\n');
    await writeFile(path.join(outside, 'secret.md'), '# Secret\n');
    await symlink(path.join(outside, 'secret.md'), path.join(dir, 'link.md'));
    await symlink('sub/notes.md', path.join(dir, 'inside-link.md'));
  });
  after(() => rm(path.dirname(dir), { recursive: true, force: true }));

  test('a PDF: its text, title and page count', async () => {
    assert.deepEqual(await call('report.pdf'), {
      path: path.join(dir, 'report.pdf'),
      title: 'Q3 Report',
      summary: 'Quarterly report. Revenue grew by 12 percent. Costs fell (slightly).',
      chars: 'Quarterly report. Revenue grew by 12 percent. Costs fell (slightly).'.length,
      pages: 2,
    });
  });

  test('a long PDF: the summary is bounded, chars counts the whole text', async () => {
    const r = await call(path.join(dir, 'long.pdf'));
    assert.ok(
      r.summary.length <= SUMMARY_MAX && r.summary.length > 100,
      `${r.summary.length} ${JSON.stringify(r.summary)}`,
    );
    assert.equal(r.pages, 3);
    assert.ok(r.chars > 3 * 5 * LOREM.trim().length, `${r.chars}`);
    assert.equal(r.title, undefined);
  });

  test('Markdown: the first # heading is the title; code blocks stay out; list items stay apart', async () => {
    const r = await call('sub/notes.md');
    assert.equal(r.title, 'Notes on Titan');
    assert.equal(r.summary, 'Intro with a link and code. item one item two Next. Ship it.');
    assert.equal(r.pages, undefined);
    assert.doesNotMatch(r.summary, /secret/);
    assert.equal(
      (await call('inside-link.md')).summary,
      r.summary,
      'a link within the directory is fine',
    );
  });

  test('the event form: data.path of a file event, and the file_summary emitted on files.v1', async () => {
    const emitted: unknown[] = [];
    const context = { config: {}, emit: (...args: unknown[]) => emitted.push(args) };
    process.env.TITAN_FS_ALLOW = JSON.stringify([dir]);
    try {
      const r = await fileWatcher(
        { type: 'file_created', data: { path: path.join(dir, 'report.pdf') } },
        context,
      );
      assert.deepEqual(emitted, [['files.v1', 'file_summary', r]]);
    } finally {
      delete process.env.TITAN_FS_ALLOW;
    }
  });

  test('bad files: encrypted, corrupt, not a PDF, not UTF-8, unsupported, too large, missing, a directory', async () => {
    assert.match(
      await refused(() => call('locked.pdf'), 'encrypted'),
      /locked\.pdf: the PDF is encrypted/,
    );
    assert.match(
      await refused(() => call('broken.pdf'), 'corrupt'),
      /broken\.pdf: the PDF is corrupt/,
    );
    assert.match(await refused(() => call('fake.pdf'), 'corrupt'), /not a PDF/);
    assert.match(await refused(() => call('latin1.md'), 'corrupt'), /not UTF-8/);
    assert.match(
      await refused(() => call('data.csv'), 'unsupported_type'),
      /unsupported file type '\.csv' \(file_watcher reads \.pdf, \.md, \.markdown\)/,
    );
    assert.match(
      await refused(() => call('report.pdf', { max_bytes: 100 }), 'too_large'),
      /report\.pdf: \d+ bytes, above the limit of 100/,
    );
    assert.match(await refused(() => call('nope.md'), 'not_found'), /nope\.md: no such file/);
    await mkdir(path.join(dir, 'folder.md'));
    assert.match(
      await refused(() => call('folder.md'), 'not_readable'),
      /not a regular file|directory/,
    );
  });

  test("an unsupported type and a bad request are the caller's fault (status 400: not retried); a bad file is not", () => {
    assert.equal(new FileError('unsupported_type', 'x.txt').status, 400);
    assert.equal(new FileError('invalid_input', 'x').status, 400);
    for (const code of [
      'corrupt',
      'encrypted',
      'not_found',
      'not_readable',
      'too_large',
      'invalid_config',
    ] as const)
      assert.equal(new FileError(code, 'x').status, undefined, code);
  });

  test('paths: .., outside the allowed directories, a link out, no path at all', async () => {
    assert.match(
      await refused(() => call('../outside/secret.md'), 'invalid_input'),
      /'\.\.' is not allowed/,
    );
    assert.match(
      await refused(() => call(path.join(outside, 'secret.md')), 'not_readable'),
      /outside the directories file_watcher may read/,
    );
    assert.match(
      await refused(() => call('link.md'), 'not_readable'),
      /a link to .*secret\.md, outside/,
    );
    await refused(() => summarizeFile({ name: 'x' }, {}, [dir]), 'invalid_input');
    await refused(() => summarizeFile(null, {}, [dir]), 'invalid_input');
    await refused(() => summarizeFile({ path: 'x.md' }, {}, []), 'not_readable');
  });
});
