// A hostile caller against the built-in shell_runner (issue #10, item 5), deployed from the real
// functions/shell_runner folder through a real gateway on the real engine. Every whitelistable
// program is allowed, and the inbox holds a link to /proc/1/environ (the function's own environment,
// with a canary) and one to /etc, as anyone who can write the inbox could plant. Each probe is an
// option that would read a list of files, a file named in its value, a program, follow links out,
// write, or wait for the deadline: each is refused, 400 function_rejected, naming the rule, the
// option and the command, and answered at once (nothing ran).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { defaultConfig } from '../../runtime/config.ts';
import { ensureRuntimeImage } from '../../runtime/image/runtime-image.ts';
import { TABLES } from '../../functions/shell_runner/option-tables.ts';
import type { RunResult } from '../../functions/shell_runner/run.ts';
import {
  errorOf,
  newHarnessDir,
  startHarness,
  testEngine,
  type FunctionFiles,
  type Harness,
} from '../helpers/harness.ts';

const FOLDER = fileURLToPath(new URL('../../functions/shell_runner/', import.meta.url));
const CANARY = `canary-${randomUUID()}`;
/** A refusal comes before anything runs: far below command_timeout_ms (10 s) and a cold start. */
const REFUSED_WITHIN_MS = 3000;

/** The real folder, its manifest allowing `inbox`, every whitelistable program, and a canary in its env. */
async function shellRunner(inbox: string): Promise<FunctionFiles> {
  const files: FunctionFiles = {};
  for (const e of await readdir(FOLDER, { withFileTypes: true }))
    files[e.name] = await readFile(join(FOLDER, e.name), 'utf8');
  const manifest = YAML.parse(files['function.yaml']!);
  manifest.permissions.fs.allow = [`${inbox}/**`];
  manifest.config = { ...manifest.config, commands: Object.keys(TABLES) };
  manifest.env = { SHELL_RUNNER_CANARY: CANARY };
  files['function.yaml'] = YAML.stringify(manifest);
  return files;
}

describe('shell_runner against a hostile caller: options', () => {
  let h: Harness;

  before(async () => {
    await ensureRuntimeImage(testEngine(), defaultConfig().sandbox.image);
    const dir = await newHarnessDir();
    const inbox = join(dir, 'inbox');
    await mkdir(inbox);
    await writeFile(join(inbox, 'a.txt'), 'hello\nworld\n');
    await symlink('/proc/1/environ', join(inbox, 'env')); // what the planted link leads to, inside the container
    await symlink('/etc', join(inbox, 'etc'));
    h = await startHarness(
      { shell_runner: await shellRunner(inbox) },
      { sandbox: { fs_roots: [inbox] } },
      { dir },
    );
    const { functions } = (await (await h.request('/functions')).json()) as {
      functions: Array<{ name: string; status: string; error?: string }>;
    };
    assert.deepEqual(
      functions.map((f) => [f.name, f.status, f.error]),
      [['shell_runner', 'ready', undefined]],
    );
  });
  after(() => h?.close());

  /** Asserts the refusal: 400 function_rejected from InputRejected, the rule first, the message matching `names`; fast. */
  const refused = async (
    body: { command: string; args: string[]; stdin?: string },
    rule: string,
    names: RegExp,
  ): Promise<void> => {
    const started = Date.now();
    const res = await h.invoke('shell_runner', body);
    const took = Date.now() - started;
    const text = await res.clone().text();
    assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.status} ${text}`);
    const e = await errorOf(res);
    assert.equal(e.code, 'function_rejected');
    assert.deepEqual(e.details, { name: 'InputRejected' });
    assert.ok(e.message.startsWith(`rule ${rule}: `), `${JSON.stringify(body)} → ${e.message}`);
    assert.match(e.message, names, JSON.stringify(body));
    assert.ok(!e.message.includes(CANARY));
    assert.ok(took < REFUSED_WITHIN_MS, `${JSON.stringify(body)} answered after ${took} ms`);
  };

  test('wc --files0-from names the files to read in a file: /proc/1/environ', async () => {
    await refused(
      { command: 'wc', args: ['--files0-from=/proc/1/environ'] },
      'option_not_allowed',
      /wc's --files0-from is not allowed/,
    );
  });

  test('an abbreviation is the option it abbreviates: wc --files0=- with the file list on stdin', async () => {
    await refused(
      { command: 'wc', args: ['--files0=-'], stdin: '/proc/1/environ\0' },
      'option_not_allowed',
      /wc's --files0-from \(which --files0 abbreviates\)/,
    );
    await refused(
      { command: 'sort', args: ['--files0-f', '-'], stdin: 'env\0' },
      'option_not_allowed',
      /sort's --files0-from \(which --files0-f abbreviates\)/,
    );
  });

  test('grep -f reads its patterns from /proc/1/environ (and prints what it cannot compile)', async () => {
    await refused(
      { command: 'grep', args: ['-f', '/proc/1/environ', 'a.txt'] },
      'option_not_allowed',
      /grep's -f is not allowed/,
    );
    await refused(
      { command: 'grep', args: ['-f', 'env', 'a.txt'] },
      'option_not_allowed',
      /grep's -f is not allowed/,
    ); // through the planted link
  });

  test('grep --file is --file, not an abbreviation of the allowed --files-with-matches', async () => {
    await refused(
      { command: 'grep', args: ['--file=env', 'a.txt'] },
      'option_not_allowed',
      /grep's --file is not allowed/,
    );
    await refused(
      { command: 'grep', args: ['--fil', 'env', 'a.txt'] },
      'option_not_allowed',
      /--fil is ambiguous for grep/,
    );
  });

  test('grep -R follows the planted link to /proc/1/environ', async () => {
    await refused(
      { command: 'grep', args: ['-R', '-a', CANARY.slice(0, 10), '.'] },
      'option_not_allowed',
      /grep's -R is not allowed: it follows symbolic links/,
    );
    await refused(
      { command: 'grep', args: ['--dereference-rec', '-a', 'x'] },
      'option_not_allowed',
      /grep's --dereference-recursive \(which --dereference-rec abbreviates\)/,
    );
    await refused(
      { command: 'grep', args: ['-d', 'recurse', '-R', 'x'] },
      'option_not_allowed',
      /argument 3 "-R": grep's -R/,
    );
  });

  test('a forbidden short option bundled behind allowed ones: grep -ailR, grep -rfenv', async () => {
    await refused(
      { command: 'grep', args: ['-ailR', 'x', '.'] },
      'option_not_allowed',
      /argument 1 "-ailR": grep's -R is not allowed/,
    );
    await refused(
      { command: 'grep', args: ['-rfenv', '.'] },
      'option_not_allowed',
      /argument 1 "-rfenv": grep's -f is not allowed/,
    );
    await refused(
      { command: 'sort', args: ['-nrT/tmp', 'a.txt'] },
      'option_not_allowed',
      /argument 1 "-nrT\/tmp": sort's -T is not allowed/,
    );
  });

  test('ls -L (with or without -R) shows and enters what the planted links point to', async () => {
    await refused(
      { command: 'ls', args: ['-RL', 'etc'] },
      'option_not_allowed',
      /ls's -L is not allowed/,
    );
    await refused(
      { command: 'ls', args: ['-l', '.', '--dereference'] },
      'option_not_allowed',
      /argument 3 "--dereference": ls's --dereference is not allowed/,
    );
  });

  test('grep --exclude-from reads /proc/1/environ as its list of globs', async () => {
    await refused(
      { command: 'grep', args: ['-r', '--exclude-from=/proc/1/environ', 'x'] },
      'option_not_allowed',
      /grep's --exclude-from is not allowed/,
    );
    await refused(
      { command: 'grep', args: ['-r', '--exclude-f', 'env', 'x'] },
      'option_not_allowed',
      /grep's --exclude-from \(which --exclude-f abbreviates\)/,
    );
  });

  test('sort -T and --temporary-directory write temporary files where the caller says', async () => {
    await refused(
      { command: 'sort', args: ['-T', '/tmp', 'a.txt'] },
      'option_not_allowed',
      /sort's -T is not allowed: it writes files/,
    );
    await refused(
      { command: 'sort', args: ['--temporary-directory=.', 'a.txt'] },
      'option_not_allowed',
      /sort's --temporary-directory is not allowed/,
    );
  });

  test('sort -o writes a file, uniq writes its second operand', async () => {
    await refused(
      { command: 'sort', args: ['a.txt', '-o', 'a.txt'] },
      'option_not_allowed',
      /argument 2 "-o": sort's -o is not allowed: it writes files/,
    );
    await refused(
      { command: 'sort', args: ['--out=x', 'a.txt'] },
      'option_not_allowed',
      /sort's --output \(which --out abbreviates\)/,
    );
    await refused(
      { command: 'uniq', args: ['a.txt', 'copy.txt'] },
      'operand_not_allowed',
      /argument 2 "copy.txt": uniq writes its output to a second file operand/,
    );
  });

  test("sort --compress-program runs a program of the caller's choosing", async () => {
    await refused(
      { command: 'sort', args: ['--compress-prog=/usr/bin/cat', 'a.txt'] },
      'option_not_allowed',
      /sort's --compress-program \(which --compress-prog abbreviates\) is not allowed: it runs another program/,
    );
  });

  test('tail -f holds a container slot until the deadline: refused in every spelling, at once', async () => {
    await refused(
      { command: 'tail', args: ['-n', '1', '-f', 'a.txt'] },
      'option_not_allowed',
      /tail's -f is not allowed/,
    );
    await refused(
      { command: 'tail', args: ['--follow=name', '--retry', 'a.txt'] },
      'option_not_allowed',
      /tail's --follow is not allowed/,
    );
    await refused(
      { command: 'tail', args: ['-F', 'a.txt'] },
      'option_not_allowed',
      /tail's -F is not allowed/,
    );
    // the obsolete first argument [+-]NUM[bcl]f, which tail reads itself before its options
    await refused(
      { command: 'tail', args: ['-1f', 'a.txt'] },
      'option_not_allowed',
      /tail's -f \(here in its obsolete/,
    );
    await refused(
      { command: 'tail', args: ['+1f', '-'] },
      'option_not_allowed',
      /tail's -f \(here in its obsolete/,
    );
    await refused(
      { command: 'tail', args: ['-cf', '--', 'a.txt'] },
      'option_not_allowed',
      /tail's -f \(here in its obsolete/,
    );
  });

  test('date -f prints each line of /proc/1/environ it cannot read as a date', async () => {
    await refused(
      { command: 'date', args: ['-f', '/proc/1/environ'] },
      'option_not_allowed',
      /date's -f is not allowed/,
    );
    await refused(
      { command: 'date', args: ['--file=env'] },
      'option_not_allowed',
      /date's --file is not allowed/,
    );
  });

  test('date -d \'TZ="…"\' loads a time zone file the caller names', async () => {
    await refused(
      { command: 'date', args: ['-d', 'TZ="/proc/1/environ" now'] },
      'option_not_allowed',
      /date's -d with .* names a time zone/,
    );
  });

  test("an option's path value meets the path rules: .., absolute outside, the planted link", async () => {
    await refused(
      { command: 'date', args: ['--reference=../../etc/passwd'] },
      'path_dotdot',
      /argument 1 "--reference=..\/..\/etc\/passwd" contains a '..' path segment/,
    );
    await refused(
      { command: 'date', args: ['-r/proc/1/environ'] },
      'path_escape',
      /argument 1 "-r\/proc\/1\/environ" leaves the allowed directories/,
    );
    await refused(
      { command: 'date', args: ['-u', '--ref', 'env'] },
      'path_escape',
      /argument 3 "env" is or goes through a symbolic link|argument 3 "env" leaves the allowed directories through a symbolic link/,
    );
  });

  test('after --, an option is a path: wc -- --files0-from=/proc/1/environ is a file name, checked as one', async () => {
    await refused(
      { command: 'wc', args: ['--', '--files0-from=/proc/1/environ'] },
      'path_escape',
      /argument 2 "--files0-from=\/proc\/1\/environ" leaves the allowed directories/,
    );
    await refused({ command: 'cat', args: ['--', '-n', 'env'] }, 'path_escape', /argument 3 "env"/);
  });

  test('options a program does not have, undocumented ones, and a prefix of every option', async () => {
    await refused(
      { command: 'cat', args: ['--show-everything', 'a.txt'] },
      'option_not_allowed',
      /--show-everything is not an option cat knows; cat may take /,
    );
    await refused(
      { command: 'grep', args: ['-X', 'perl', 'x', 'a.txt'] },
      'option_not_allowed',
      /grep's -X is not allowed: it is undocumented/,
    );
    await refused(
      { command: 'tail', args: ['---presume-input-pipe', 'a.txt'] },
      'option_not_allowed',
      /tail's ---presume-input-pipe is not allowed/,
    );
    await refused(
      { command: 'ls', args: ['--=x'] },
      'option_not_allowed',
      /-- is ambiguous for ls/,
    );
  });

  test('after all that, the gateway is healthy and shell_runner answers; grep -r passes the planted links by', async () => {
    assert.equal((await h.request('/healthz')).status, 200);
    const res = await h.invoke('shell_runner', { command: 'grep', args: ['-r', '-a', '-c', ''] });
    assert.equal(res.status, 200);
    const r = (await res.json()) as RunResult;
    assert.deepEqual(
      [r.stdout, r.exit_code],
      ['a.txt:2\n', 0],
      'only a.txt: env and etc are links, skipped',
    );
    assert.ok(!JSON.stringify(r).includes(CANARY));
  });
});
