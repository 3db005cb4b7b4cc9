// The built-in function functions/shell_runner deployed as it is (its allow path pointed at a
// temporary inbox) on the real engine and runtime image: whitelisted commands run, every kind of
// bad input is rejected naming its rule, output is capped and a command past its limit is killed;
// and the option tables are checked against the image's programs themselves.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { defaultConfig } from '../../runtime/config.ts';
import { ensureRuntimeImage, HOST_COMMANDS } from '../../runtime/image/runtime-image.ts';
import type { RunResult } from '../../functions/shell_runner/run.ts';
import { TABLES } from '../../functions/shell_runner/option-tables.ts';
import { longOption } from '../../functions/shell_runner/options.ts';
import {
  errorOf,
  newHarnessDir,
  startHarness,
  testEngine,
  type FunctionFiles,
  type Harness,
} from '../helpers/harness.ts';

const FOLDER = fileURLToPath(new URL('../../functions/shell_runner/', import.meta.url));
const IMAGE = defaultConfig().sandbox.image;

/** The real folder's files, its manifest allowing `inbox` instead of ./inbox and its config changed by `config`. */
async function shellRunner(
  inbox: string,
  config: Record<string, unknown> = {},
): Promise<FunctionFiles> {
  const files: FunctionFiles = {};
  for (const e of await readdir(FOLDER, { withFileTypes: true })) {
    assert.ok(e.isFile(), `shell_runner/${e.name}: the test copies a flat folder`);
    files[e.name] = await readFile(join(FOLDER, e.name), 'utf8');
  }
  const manifest = YAML.parse(files['function.yaml']!);
  assert.deepEqual(
    manifest.permissions.fs.allow,
    ['./inbox/**'],
    'the shipped manifest allows ./inbox',
  );
  manifest.permissions.fs.allow = [`${inbox}/**`];
  manifest.config = { ...manifest.config, ...config };
  files['function.yaml'] = YAML.stringify(manifest);
  return files;
}

/** What the function answers: its own result type, so the test cannot drift from it. */
type Output = RunResult;

describe('shell_runner', () => {
  let h: Harness;
  let inbox = '';
  const TIGHT = { max_output_bytes: 1000, command_timeout_ms: 1500 };

  before(async () => {
    await ensureRuntimeImage(testEngine(), IMAGE); // a stand-alone run gets the image with the commands
    const dir = await newHarnessDir();
    inbox = join(dir, 'inbox');
    await mkdir(join(inbox, 'docs'), { recursive: true });
    await writeFile(join(inbox, 'a.txt'), 'hello world\n');
    await writeFile(join(inbox, 'docs', 'b.txt'), 'one\ntwo\n');
    await writeFile(join(inbox, 'big.txt'), 'x'.repeat(1 << 20));
    await symlink('/etc/passwd', join(inbox, 'passwd'));
    await symlink('/titan', join(inbox, 'bootstrap')); // exists in every function container
    await symlink('docs/b.txt', join(inbox, 'b-link'));
    h = await startHarness(
      { shell_runner: await shellRunner(inbox), shell_tight: await shellRunner(inbox, TIGHT) },
      { sandbox: { fs_roots: [inbox] } },
      { dir },
    );
    const { functions } = (await (await h.request('/functions')).json()) as {
      functions: Array<{ name: string; status: string; error?: string }>;
    };
    for (const f of functions) assert.equal(f.status, 'ready', `${f.name}: ${f.error}`);
  });
  after(() => h?.close());

  const run = async (name: string, body: unknown): Promise<Output> => {
    const res = await h.invoke(name, body);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text) as Output;
  };
  /** A rejection: 400 function_rejected (InputRejected has status 400), its message naming the rule. */
  const rejected = async (body: unknown, rule: string, name = 'shell_runner'): Promise<string> => {
    const res = await h.invoke(name, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    const e = await errorOf(res);
    assert.equal(e.code, 'function_rejected');
    assert.deepEqual(e.details, { name: 'InputRejected' });
    assert.ok(e.message.startsWith(`rule ${rule}: `), `${JSON.stringify(body)} → ${e.message}`);
    return e.message;
  };

  test('wc -c counts a file in the inbox; ls lists it', async () => {
    assert.deepEqual(await run('shell_runner', { command: 'wc', args: ['-c', 'a.txt'] }), {
      stdout: '12 a.txt\n',
      stderr: '',
      exit_code: 0,
      signal: null,
      truncated: false,
      timed_out: false,
    });
    const ls = await run('shell_runner', { command: 'ls', args: [] });
    assert.deepEqual(ls.stdout.trim().split('\n'), [
      'a.txt',
      'b-link',
      'big.txt',
      'bootstrap',
      'docs',
      'passwd',
    ]);
    assert.equal(
      (await run('shell_runner', { command: 'ls', args: [join(inbox, 'docs')] })).stdout,
      'b.txt\n',
      'an absolute path inside',
    );
    assert.equal(
      (await run('shell_runner', { command: 'cat', args: ['b-link'] })).stdout,
      'one\ntwo\n',
      'a link that stays inside',
    );
  });

  test('stdin reaches the command, grep and date run; a failing command reports its exit code', async () => {
    assert.equal(
      (
        await run('shell_runner', { command: 'wc', args: ['-l'], stdin: 'a\nb\nc\n' })
      ).stdout.trim(),
      '3',
    );
    assert.equal(
      (await run('shell_runner', { command: 'grep', args: ['-n', 'two', 'docs/b.txt'] })).stdout,
      '2:two\n',
    );
    assert.match(
      (await run('shell_runner', { command: 'date', args: ['-u', '+%Y'] })).stdout,
      /^20\d\d\n$/,
    );
    const missing = await run('shell_runner', { command: 'cat', args: ['nope.txt'] });
    assert.equal(missing.exit_code, 1);
    assert.match(missing.stderr, /nope\.txt: No such file or directory/);
  });

  test('a command not whitelisted is rejected, however it is spelled', async () => {
    for (const command of ['rm', 'sh', 'env', '/bin/ls', 'ls; rm -rf /']) {
      assert.match(
        await rejected({ command, args: [] }, 'command_not_allowed'),
        /is not whitelisted; allowed: ls, cat, wc, head, tail, grep, date, echo$/,
      );
    }
  });

  test('a shell metacharacter payload is rejected', async () => {
    const m = await rejected({ command: 'ls', args: ['; rm -rf /'] }, 'shell_metacharacter');
    assert.equal(
      m,
      'rule shell_metacharacter: argument 1 "; rm -rf /" contains the shell metacharacter ";"; none of ; & | ` $ < > ( ) or a line break is accepted',
    );
    await rejected({ command: 'echo', args: ['$(cat /etc/passwd)'] }, 'shell_metacharacter');
    await rejected({ command: 'ls', args: [], shell: true }, 'unknown_key');
  });

  test('path escapes are rejected: .., absolute paths outside, links out', async () => {
    await rejected({ command: 'cat', args: ['../../etc/passwd'] }, 'path_dotdot');
    assert.equal(
      await rejected({ command: 'cat', args: ['/etc/passwd'] }, 'path_escape'),
      `rule path_escape: argument 1 "/etc/passwd" leaves the allowed directories (${inbox})`,
    );
    await rejected({ command: 'grep', args: ['-r', 'x', '--include=*', '/titan'] }, 'path_escape');
    await rejected({ command: 'cat', args: ['passwd'] }, 'path_escape'); // dangling inside the container: no /etc/passwd there
    assert.match(
      await rejected({ command: 'ls', args: ['bootstrap'] }, 'path_escape'),
      /through a symbolic link/,
    );
    assert.match(
      await rejected({ command: 'cat', args: ['bootstrap/node.mjs'] }, 'path_escape'),
      /through a symbolic link/,
    );
    // grep -f is refused by the option rule now, before the path rule sees its value
    assert.match(
      await rejected(
        { command: 'grep', args: ['-f/titan/node.mjs', 'a.txt'] },
        'option_not_allowed',
      ),
      /grep's -f is not allowed/,
    );
  });

  test("grep -r skips the links it finds (the bootstrap's files stay out); grep -R is refused", async () => {
    const r = await run('shell_runner', { command: 'grep', args: ['-r', '-l', '-a', 'o'] });
    assert.deepEqual(
      r.stdout.trim().split('\n').sort(),
      ['a.txt', 'docs/b.txt'],
      'b-link and bootstrap/ are links: skipped',
    );
    assert.match(
      await rejected({ command: 'grep', args: ['-R', '-l', '-a', 'o'] }, 'option_not_allowed'),
      /grep's -R is not allowed/,
    );
  });

  test('oversized output is cut at max_output_bytes and the command killed', async () => {
    const r = await run('shell_tight', { command: 'cat', args: ['big.txt'] });
    assert.equal(r.truncated, true);
    assert.equal(r.stdout.length, TIGHT.max_output_bytes);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.exit_code, null);
    const whole = await run('shell_runner', { command: 'head', args: ['-c', '1000', 'big.txt'] });
    assert.deepEqual([whole.stdout.length, whole.truncated], [1000, false]);
  });

  test('a command outliving command_timeout_ms is killed', async () => {
    // tail -f is refused now; cat waits on a FIFO nobody writes, after printing a.txt
    const fifo = join(inbox, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const r = await run('shell_tight', { command: 'cat', args: ['a.txt', 'fifo'] }).finally(() =>
      rm(fifo),
    );
    const took = Date.now() - started;
    assert.deepEqual(r, {
      stdout: 'hello world\n',
      stderr: '',
      exit_code: null,
      signal: 'SIGKILL',
      truncated: false,
      timed_out: true,
    });
    assert.ok(
      took >= TIGHT.command_timeout_ms && took < TIGHT.command_timeout_ms + 3000,
      `answered after ${took} ms`,
    );
  });
});

describe('the node runtime image', () => {
  test(`has ${HOST_COMMANDS.join(', ')} working, for a non-root user without a network`, async () => {
    await ensureRuntimeImage(testEngine(), IMAGE);
    // node is the image's entrypoint and the one program sure to be there; it runs each command.
    const script = `
      const { spawnSync } = require('node:child_process');
      const { existsSync } = require('node:fs');
      const found = {};
      for (const c of ${JSON.stringify(HOST_COMMANDS)}) {
        const at = ['/usr/local/bin', '/usr/bin', '/bin'].map((d) => d + '/' + c).find((p) => existsSync(p));
        const r = at && spawnSync(at, ['--version'], { encoding: 'utf8' });
        found[c] = r ? (r.error ? String(r.error) : r.status + ' ' + r.stdout.split('\\n')[0]) : 'missing';
      }
      found.sh = ['/bin/sh', '/usr/bin/sh', '/bin/bash'].some((p) => existsSync(p));
      console.log(JSON.stringify(found));`;
    const { stdout } = await promisify(execFile)(
      'docker',
      [
        'run',
        '--rm',
        '--network',
        'none',
        '--user',
        '65534:65534',
        '--read-only',
        IMAGE,
        '-e',
        script,
      ],
      { env: process.env },
    );
    const found = JSON.parse(stdout) as Record<string, string | boolean>;
    // '<status> <first line of --version>'; GNU false exits 1 even then
    for (const c of HOST_COMMANDS)
      assert.match(
        String(found[c]),
        new RegExp(`^${c === 'false' ? 1 : 0} ${c} \\(GNU `),
        `${c}: ${found[c]}`,
      );
    const labels = await testEngine().imageLabels(IMAGE);
    if (labels?.['titan.image-rev'])
      assert.equal(found.sh, false, 'a locally built image has no shell');
  });
  test('each option table lists exactly the options of its program in the image, each taking a value as the program does', async () => {
    await ensureRuntimeImage(testEngine(), IMAGE);
    const commands = Object.keys(TABLES).filter((c) => !TABLES[c]!.noOptions);
    // Asks each program through glibc's getopt messages (LC_ALL=C): `--=` is a prefix of every long
    // option, so the "ambiguous" message lists them all; `--name=x` tells a flag ("doesn't allow an
    // argument"); `--name -j` tells an optional value (-j is then an invalid option) from a required
    // one (-j is taken as the value); `-cj` and `-c -j` do the same for every short letter.
    const script = `
      const { spawnSync } = require('node:child_process');
      const out = {};
      for (const cmd of ${JSON.stringify(commands)}) {
        const bin = ['/usr/bin/', '/bin/'].map((d) => d + cmd).find((p) => require('node:fs').existsSync(p));
        const run = (args) => spawnSync(bin, args, { input: '', encoding: 'utf8', timeout: 5000, cwd: '/', env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } }).stderr || '';
        const listed = /is ambiguous; possibilities:(.*)/.exec(run(['--=']));
        const long = {};
        for (const m of listed ? listed[1].matchAll(/'--([^']+)'/g) : []) {
          if (/doesn't allow an argument/.test(run(['--' + m[1] + '=x']))) long[m[1]] = 'none';
          else long[m[1]] = run(['--' + m[1], '-j']).includes("invalid option -- 'j'") ? 'optional' : 'required';
        }
        const short = {};
        for (const c of 'abcdefghiklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789') {
          const e = run(['-' + c + 'j']);
          if (e.includes("invalid option -- '" + c + "'")) continue;
          if (e.includes("invalid option -- 'j'")) short[c] = 'none';
          else short[c] = run(['-' + c, '-j']).includes("invalid option -- 'j'") ? 'optional' : 'required';
        }
        out[cmd] = { long, short };
      }
      console.log(JSON.stringify(out));`;
    const { stdout } = await promisify(execFile)(
      'docker',
      [
        'run',
        '--rm',
        '--network',
        'none',
        '--user',
        '65534:65534',
        '--read-only',
        IMAGE,
        '-e',
        script,
      ],
      { env: process.env },
    );
    const programs = JSON.parse(stdout) as Record<
      string,
      { long: Record<string, string>; short: Record<string, string> }
    >;
    for (const command of commands) {
      const t = TABLES[command]!;
      const { long, short } = programs[command]!;
      assert.ok(
        Object.keys(long).length > 2,
        `${command}: no long options listed (${JSON.stringify(long)})`,
      );
      // head's and tail's digits are their obsolete -NUM, read before getopt (the tables' leading hooks)
      if (t.leading) for (const d of '0123456789') delete short[d];
      assert.deepEqual(
        Object.fromEntries(
          Object.keys(t.long)
            .sort()
            .map((k) => [k, longOption(t, k).arg]),
        ),
        Object.fromEntries(
          Object.keys(long)
            .sort()
            .map((k) => [k, long[k]]),
        ),
        `${command}'s long options`,
      );
      assert.deepEqual(
        Object.fromEntries(
          Object.keys(t.short)
            .sort()
            .map((c) => [c, t.short[c]!.arg]),
        ),
        Object.fromEntries(
          Object.keys(short)
            .sort()
            .map((c) => [c, short[c]]),
        ),
        `${command}'s short options`,
      );
    }
  });
});
