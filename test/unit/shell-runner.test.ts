// shell_runner's rules, settings and runner, imported from functions/shell_runner and run on this
// host against real temporary directories (a real symlink for the links out).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { allowedFromEnv, runShell } from '../../functions/shell_runner/index.ts';
import { TABLES } from '../../functions/shell_runner/option-tables.ts';
import { longOption, type Option } from '../../functions/shell_runner/options.ts';
import { checkPaths, pathCandidates } from '../../functions/shell_runner/paths.ts';
import { resolveBinary, runCommand, utf8Prefix } from '../../functions/shell_runner/run.ts';
import { parseSettings, type Settings } from '../../functions/shell_runner/settings.ts';
import {
  InputRejected,
  validateRequest,
  type Rule,
} from '../../functions/shell_runner/validate.ts';

const COMMANDS = ['ls', 'cat', 'wc', 'head', 'tail', 'grep', 'date', 'echo'];
const settings = (extra: Record<string, unknown> = {}): Settings =>
  parseSettings({ commands: COMMANDS, ...extra });

/** Asserts `fn` throws an InputRejected for `rule`, its message starting `rule <rule>:`; returns the message. */
function rejects(fn: () => unknown, rule: Rule): string {
  try {
    fn();
  } catch (e) {
    assert.ok(
      e instanceof InputRejected,
      `expected InputRejected, got ${(e as Error).name}: ${(e as Error).message}`,
    );
    assert.equal(e.name, 'InputRejected');
    assert.equal(e.rule, rule, e.message);
    assert.ok(e.message.startsWith(`rule ${rule}: `), e.message);
    return e.message;
  }
  assert.fail(`expected rule ${rule} to reject`);
}

async function rejectsAsync(p: Promise<unknown>, rule: Rule): Promise<string> {
  const e = await p.then(
    () => assert.fail(`expected rule ${rule} to reject`),
    (err: unknown) => err,
  );
  return rejects(() => {
    throw e;
  }, rule);
}

describe('shell_runner settings', () => {
  test('defaults apply to a config that lists only the whitelist', () => {
    assert.deepEqual(settings(), {
      commands: COMMANDS,
      maxArgs: 64,
      maxArgLength: 4096,
      maxStdinBytes: 65_536,
      maxOutputBytes: 65_536,
      commandTimeoutMs: 10_000,
      rejectShellMetacharacters: true,
    });
    assert.equal(
      settings({ max_output_bytes: 10, reject_shell_metacharacters: false }).maxOutputBytes,
      10,
    );
  });

  test('a config the function cannot honour is refused, naming the key', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{}, /commands must be a non-empty list/],
      [{ commands: [] }, /commands must be a non-empty list/],
      [{ commands: ['/bin/ls'] }, /"\/bin\/ls" is not a bare program name/],
      [{ commands: ['ls', 'env'] }, /'env' runs other programs/],
      [{ commands: ['ls'], comands: ['cat'] }, /unknown key\(s\) comands/],
      [{ commands: ['ls'], max_output_bytes: 0 }, /max_output_bytes must be an integer from 1/],
      [{ commands: ['ls'], command_timeout_ms: '5s' }, /command_timeout_ms must be an integer/],
      [
        { commands: ['ls'], reject_shell_metacharacters: 'yes' },
        /reject_shell_metacharacters must be true or false/,
      ],
    ];
    for (const [config, message] of bad)
      assert.throws(
        () => parseSettings(config),
        (e: Error) => e.name === 'ConfigInvalid' && message.test(e.message),
        JSON.stringify(config),
      );
  });
});

describe('shell_runner input rules', () => {
  const s = settings();

  test('a whitelisted command with string arguments passes; args default to []', () => {
    assert.deepEqual(validateRequest({ command: 'wc', args: ['-c', 'a.txt'], stdin: 'x' }, s), {
      command: 'wc',
      args: ['-c', 'a.txt'],
      stdin: 'x',
    });
    assert.deepEqual(validateRequest({ command: 'date' }, s), { command: 'date', args: [] });
  });

  test('the input must be an object with known keys', () => {
    for (const e of [null, 'ls', ['ls'], 3]) rejects(() => validateRequest(e, s), 'input_type');
    assert.match(
      rejects(() => validateRequest({ command: 'ls', shell: true }, s), 'unknown_key'),
      /"shell"/,
    );
  });

  test('the command must be exactly a whitelisted name', () => {
    rejects(() => validateRequest({ args: [] }, s), 'command_type');
    for (const command of ['rm', '/bin/ls', 'ls ', 'ls; rm -rf /', 'LS', 'constructor', 'env']) {
      const m = rejects(() => validateRequest({ command }, s), 'command_not_allowed');
      assert.match(m, /allowed: ls, cat, wc, head, tail, grep, date, echo/);
    }
  });

  test('arguments are strings, bounded in count and length, without NUL', () => {
    rejects(() => validateRequest({ command: 'ls', args: '-l' }, s), 'args_type');
    assert.match(
      rejects(() => validateRequest({ command: 'ls', args: ['-l', 3] }, s), 'args_type'),
      /argument 2 is number/,
    );
    rejects(
      () => validateRequest({ command: 'echo', args: Array(65).fill('x') }, s),
      'too_many_args',
    );
    validateRequest({ command: 'echo', args: Array(64).fill('x') }, s);
    rejects(
      () => validateRequest({ command: 'echo', args: ['x'.repeat(4097)] }, s),
      'arg_too_long',
    );
    rejects(() => validateRequest({ command: 'echo', args: ['a\0b'] }, s), 'arg_nul');
  });

  test('shell metacharacters in an argument are refused unless the config allows them', () => {
    for (const arg of [
      '; rm -rf /',
      'a && b',
      'a|b',
      '`id`',
      '$(id)',
      '$HOME',
      '<x',
      '>x',
      '(x)',
      'a\nb',
    ]) {
      rejects(() => validateRequest({ command: 'ls', args: [arg] }, s), 'shell_metacharacter');
    }
    const lax = settings({ reject_shell_metacharacters: false });
    assert.deepEqual(validateRequest({ command: 'echo', args: ['a;b'] }, lax).args, ['a;b']);
  });

  test('an option that runs another program is refused, abbreviated or not', () => {
    const withSort = parseSettings({ commands: ['sort'] });
    for (const arg of ['--compress-program=sh', '--compress-prog=sh', '--co=sh'])
      rejects(
        () => validateRequest({ command: 'sort', args: [arg] }, withSort),
        'option_not_allowed',
      );
    validateRequest({ command: 'sort', args: ['--check', '-r'] }, withSort);
  });

  test('stdin is a string within max_stdin_bytes', () => {
    rejects(() => validateRequest({ command: 'wc', stdin: 5 }, s), 'stdin_type');
    assert.match(
      rejects(
        () => validateRequest({ command: 'wc', stdin: 'é'.repeat(40_000) }, s),
        'stdin_too_large',
      ),
      /80000 bytes, at most 65536/,
    );
  });
});

describe('shell_runner option rules', () => {
  const all = parseSettings({ commands: Object.keys(TABLES) });
  const ok = (command: string, ...args: string[]) =>
    assert.deepEqual(
      validateRequest({ command, args }, all).args,
      args,
      `${command} ${args.join(' ')}`,
    );
  const no = (command: string, args: string[], rule: Rule = 'option_not_allowed') =>
    rejects(() => validateRequest({ command, args }, all), rule);

  test('every whitelistable program has a table; one without is refused in the config, not allowed every option', () => {
    assert.deepEqual(Object.keys(TABLES).sort(), [
      'cat',
      'cut',
      'date',
      'echo',
      'false',
      'grep',
      'head',
      'ls',
      'sort',
      'stat',
      'tail',
      'tr',
      'true',
      'uniq',
      'wc',
    ]);
    assert.throws(
      () => parseSettings({ commands: ['ls', 'md5sum'] }),
      (e: Error) =>
        e.name === 'ConfigInvalid' &&
        /commands: 'md5sum' has no option table in shell_runner .*; whitelistable: ls, cat, wc, head, tail, grep, date/.test(
          e.message,
        ),
    );
  });

  test('the tables hold together: aliases resolve, distinct options are distinct objects, programs that open no file take no path', () => {
    for (const [command, t] of Object.entries(TABLES)) {
      const seen = new Map<Option, string>();
      for (const name of Object.keys(t.long)) {
        const o = longOption(t, name);
        if (typeof t.long[name] === 'object') {
          assert.equal(
            seen.get(o),
            undefined,
            `${command}: --${name} and --${seen.get(o)} share one object, so GNU's prefix rule would take them for one option`,
          );
          seen.set(o, name);
        }
      }
      for (const o of [
        ...Object.values(t.short),
        ...Object.keys(t.long).map((k) => longOption(t, k)),
      ]) {
        if (!o.refused)
          assert.equal(
            o.arg === 'none',
            o.value === undefined,
            `${command}: an allowed option takes a value exactly when it says what the value may be`,
          );
        if (t.opensNoFiles)
          assert.notEqual(
            o.value?.kind,
            'path',
            `${command} opens no file, yet an option takes a path`,
          );
      }
    }
  });

  test('allowed options pass in every form GNU getopt reads', () => {
    ok('ls', '-la', '--color=always', '-w', '80', '-w80', '--width', '80', '--sort=time', '-R');
    ok('ls', 'sub', '-l'); // an option after an operand is still an option
    ok('head', '-n5', 'a.txt');
    ok('head', '-n', '5', '--lines=-2', '--li', '3');
    ok('head', '-5', 'a.txt'); // obsolete -NUM first
    ok('grep', '-inr', '-e', '-R', '--include=*.txt', '-C2', '-5', 'x', '.'); // -e takes '-R' as its pattern
    ok('grep', '--col', 'x'); // --color and --colour are one option: not ambiguous
    ok('grep', '-d', 'recurse', '--directories=skip', 'x');
    ok('sort', '-k2,2n', '-t', ',', '-u', '--check', '-r');
    ok('tail', '-n', '+2', 'a.txt');
    ok('tail', '-5', 'a.txt');
    ok('tail', '+2', 'a.txt');
    ok('date', '-u', '-Iseconds', '--rfc-3339=ns', '-d', '@0', '+%s');
    ok('uniq', '-c', '+1', 'a.txt'); // +1 is --skip-chars=1, not a file
    ok('cut', '-d,', '-f1,3', '--output-delimiter= ');
    ok('stat', '-c', '%s %n', 'a.txt');
    ok('tr', 'a', '-x'); // tr stops at its first operand: -x is its second set
    ok('cat', '--', '-n', '--files0-from=x'); // after --, operands
    ok('echo', '-x', '--files0-from=x'); // echo reads no options
  });

  test('an option that reads a list of files, a named file or a program is refused, however it is spelled', () => {
    const cases: Array<[string, string[], RegExp]> = [
      [
        'wc',
        ['--files0-from=list'],
        /wc's --files0-from is not allowed: it reads the names of the files to open/,
      ],
      ['wc', ['--files0', '-'], /wc's --files0-from \(which --files0 abbreviates\) is not allowed/],
      ['sort', ['--files0-f=-'], /sort's --files0-from/],
      [
        'grep',
        ['-f', 'pats', 'a.txt'],
        /grep's -f is not allowed: it reads a file named in its value/,
      ],
      ['grep', ['-fpats', 'a.txt'], /grep's -f/],
      ['grep', ['-rfpats', 'a.txt'], /grep's -f/], // hidden in a cluster, its value attached
      ['grep', ['--file', 'pats'], /grep's --file is not allowed/], // exact: not a prefix of --files-with-matches
      ['grep', ['--exclude-from=x', '-r', 'y'], /grep's --exclude-from is not allowed/],
      ['sort', ['--random-source=x'], /sort's --random-source/],
      [
        'sort',
        ['--compress-program=sh'],
        /sort's --compress-program is not allowed: it runs another program/,
      ],
      ['date', ['-f', 'dates'], /date's -f is not allowed/],
      ['date', ['--fi=dates'], /date's --file \(which --fi abbreviates\)/],
      [
        'date',
        ['-d', 'TZ="/proc/1/environ" now'],
        /date's -d with .* names a time zone, which date loads from a file/,
      ],
      ['date', ['--date=tz="x"'], /names a time zone/],
    ];
    for (const [command, args, message] of cases)
      assert.match(no(command, args), message, `${command} ${args.join(' ')}`);
  });

  test('recursion that follows links is refused; recursion that skips them is not', () => {
    assert.match(
      no('grep', ['-R', 'x', '.']),
      /grep's -R is not allowed: it follows symbolic links found inside the directories/,
    );
    assert.match(
      no('grep', ['-inR', 'x']),
      /^rule option_not_allowed: argument 1 "-inR": grep's -R/,
    );
    assert.match(no('grep', ['--dereference-recursive', 'x']), /grep's --dereference-recursive/);
    assert.match(
      no('grep', ['--deref', 'x']),
      /grep's --dereference-recursive \(which --deref abbreviates\)/,
    );
    assert.match(no('ls', ['-RL']), /ls's -L is not allowed/);
    assert.match(
      no('ls', ['-l', 'sub', '--dereference']),
      /argument 3 "--dereference": ls's --dereference/,
    );
    assert.match(
      no('ls', ['--deref']),
      /--deref is ambiguous for ls \(--dereference, --dereference-command-line, --dereference-command-line-symlink-to-dir\)/,
    );
    ok('grep', '-r', 'x');
    ok('ls', '-RH', '--dereference-command-line');
  });

  test('options that write files, follow a file for ever or size sort are refused', () => {
    assert.match(no('sort', ['-o', 'out', 'a.txt']), /sort's -o is not allowed: it writes files/);
    assert.match(no('sort', ['-nro', 'out']), /"-nro": sort's -o/);
    assert.match(no('sort', ['--out=x']), /sort's --output/);
    assert.match(
      no('sort', ['-T', '/tmp']),
      /sort's -T is not allowed: it writes files \(its temporary files\)/,
    );
    assert.match(no('sort', ['-S', '1G']), /sort's -S/);
    for (const args of [
      ['-n', '1', '-f', 'a.txt'],
      ['-F', 'a.txt'],
      ['--follow=name', 'a.txt'],
      ['--retry', 'a.txt'],
      ['--pid=1', 'a.txt'],
      ['-s', '1', 'a.txt'],
    ]) {
      assert.match(
        no('tail', args),
        /tail's (-f|-F|--follow|--retry|--pid|-s) is not allowed/,
        args.join(' '),
      );
    }
    // tail's obsolete first argument: [+-]NUM[bcl]f follows too, when at most one file follows it
    for (const args of [
      ['-f', 'a.txt'],
      ['-1f', 'a.txt'],
      ['+2f', '-'],
      ['-cf'],
      ['-1f', '--', 'a.txt'],
      ['+f'],
    ]) {
      assert.match(
        no('tail', args),
        /tail's -f \(here in its obsolete \[\+-\]NUM\[bcl\]f form\) is not allowed/,
        args.join(' '),
      );
    }
    assert.match(no('tail', ['-1f', 'a.txt', 'b.txt']), /-1 is not an option tail knows/); // not obsolete then: tail rejects it too
    ok('tail', '+2f', 'a.txt', 'b.txt'); // nor is a file named +2f among others
  });

  test('values are checked; a missing value, a value for a flag and an unknown option are refused, naming option and command', () => {
    assert.match(no('head', ['-n', 'x']), /head's -n takes a number/);
    assert.match(no('head', ['-n']), /head's -n needs a value/);
    assert.match(
      no('ls', ['--sort=bogus']),
      /ls's --sort takes one of none, time, size, extension, version, width, not "bogus"/,
    );
    assert.match(no('ls', ['--color=x']), /ls's --color takes one of always/);
    assert.match(no('ls', ['--all=x']), /ls's --all takes no value/);
    assert.match(no('date', ['-Ix']), /date's -I takes one of date, hours/);
    assert.match(
      no('cat', ['--show-everything']),
      /--show-everything is not an option cat knows; cat may take -A -E -T -b -e -n -s -t -u -v and --help --version$/,
    );
    assert.match(no('grep', ['-X', 'perl', 'x']), /grep's -X is not allowed: it is undocumented/);
    assert.match(no('tr', ['-x', 'a']), /-x is not an option tr knows/);
    assert.match(no('ls', ['--=x']), /-- is ambiguous for ls/);
    assert.match(no('head', ['-5x', 'a.txt']), /head's obsolete -NUM form takes only the letters/);
  });

  test('uniq writes a second file operand: refused as operand_not_allowed; +N before -- is a skip, not a file', () => {
    assert.match(
      no('uniq', ['a.txt', 'out.txt'], 'operand_not_allowed'),
      /argument 2 "out.txt": uniq writes its output to a second file operand/,
    );
    assert.match(no('uniq', ['--', '+1', 'a.txt'], 'operand_not_allowed'), /argument 3 "a.txt"/);
    no('uniq', ['a.txt', '+99999999999999999999999'], 'operand_not_allowed'); // too big for a skip: uniq takes it for a file
    ok('uniq', '-f', '1', '+2', 'a.txt');
  });
});

describe('shell_runner path rules', () => {
  let root = '';
  let inbox = '';
  let outside = '';
  const check = (...args: string[]) => checkPaths(args, inbox, [inbox]);

  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'shr-')));
    inbox = join(root, 'inbox');
    outside = join(root, 'outside');
    await mkdir(join(inbox, 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(inbox, 'a.txt'), 'hello\n');
    await writeFile(join(outside, 'secret'), 'secret\n');
    await symlink(join(outside, 'secret'), join(inbox, 'out'));
    await symlink(outside, join(inbox, 'dirout'));
    await symlink('a.txt', join(inbox, 'in'));
    await symlink(join(inbox, 'gone'), join(inbox, 'dangling'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('which parts of an argument are taken as paths', () => {
    assert.deepEqual(pathCandidates('a.txt'), ['a.txt']);
    assert.deepEqual(pathCandidates('--file=/etc/passwd'), ['--file=/etc/passwd', '/etc/passwd']);
    assert.deepEqual(pathCandidates('-f/etc/passwd'), ['-f/etc/passwd', '/etc/passwd']);
    assert.deepEqual(pathCandidates('-rfx'), ['-rfx', 'fx', 'x']);
    assert.deepEqual(pathCandidates('-'), ['-']);
  });

  test('paths inside the allowed directory pass, existing or not, relative or absolute', () => {
    check(
      'a.txt',
      './a.txt',
      'sub',
      'sub/',
      '.',
      'missing/deeper/file',
      join(inbox, 'a.txt'),
      inbox,
      'in',
      '-l',
      '--',
      '-',
      'pattern',
      'a/b',
      '[/]usr/',
      '.[.]',
    );
  });

  test("a '..' segment is refused wherever it is", () => {
    for (const arg of [
      '..',
      '../outside/secret',
      'sub/../a.txt',
      '../../etc/passwd',
      '--file=../x',
      '-f../x',
      '-f..',
    ]) {
      assert.match(
        rejects(() => check(arg), 'path_dotdot'),
        /contains a '\.\.' path segment/,
      );
    }
  });

  test('absolute paths outside, option values outside and symlinks out are refused', () => {
    const m = rejects(() => check('a.txt', '/etc/passwd'), 'path_escape');
    assert.equal(
      m,
      `rule path_escape: argument 2 "/etc/passwd" leaves the allowed directories (${inbox})`,
    );
    for (const arg of [
      '/',
      root,
      join(outside, 'secret'),
      '--file=/etc/passwd',
      '-f/etc/passwd',
      'if=/etc/passwd',
      '-fout',
    ])
      rejects(() => check(arg), 'path_escape');
    assert.match(
      rejects(() => check('out'), 'path_escape'),
      /through a symbolic link \(/,
    );
    assert.match(
      rejects(() => check('dirout/secret'), 'path_escape'),
      /through a symbolic link/,
    );
    assert.match(
      rejects(() => check('dirout/not-yet'), 'path_escape'),
      /through a symbolic link/,
      'a missing file behind a link out is out',
    );
    assert.match(
      rejects(() => check('dangling'), 'path_escape'),
      /symbolic link whose target does not exist/,
    );
  });
});

describe('shell_runner runner', () => {
  let dir = '';
  before(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'shr-run-')));
    await writeFile(join(dir, 'big.txt'), 'x'.repeat(1 << 20));
    await writeFile(join(dir, 'a.txt'), 'one\ntwo\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const base = () => ({ cwd: dir, timeoutMs: 5000, maxOutputBytes: 65_536 });

  test('binaries come from the fixed PATH only', () => {
    assert.match(resolveBinary('ls') ?? '', /^\/(usr\/)?bin\/ls$/);
    assert.equal(resolveBinary('no-such-program'), undefined);
    assert.equal(resolveBinary('ls', join(dir, 'nowhere')), undefined);
  });

  test('utf8Prefix never cuts a character in two', () => {
    const buf = Buffer.from('aé€😀');
    assert.equal(buf.length, 1 + 2 + 3 + 4);
    const cuts = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) =>
      utf8Prefix(buf, n).toString('utf8'),
    );
    assert.deepEqual(cuts, [
      '',
      'a',
      'a',
      'aé',
      'aé',
      'aé',
      'aé€',
      'aé€',
      'aé€',
      'aé€',
      'aé€😀',
      'aé€😀',
    ]);
  });

  test('runs a program with arguments, stdin and its exit code; no shell sees the arguments', async () => {
    const r = await runCommand({ ...base(), binary: '/usr/bin/echo', args: ['$HOME', ';', 'ls'] });
    assert.deepEqual(r, {
      stdout: '$HOME ; ls\n',
      stderr: '',
      exit_code: 0,
      signal: null,
      truncated: false,
      timed_out: false,
    });
    assert.equal(
      (
        await runCommand({ ...base(), binary: '/usr/bin/wc', args: ['-l'], stdin: 'a\nb\nc\n' })
      ).stdout.trim(),
      '3',
    );
    const failed = await runCommand({ ...base(), binary: '/usr/bin/ls', args: ['missing'] });
    assert.equal(failed.exit_code, 2);
    assert.match(failed.stderr, /missing/);
  });

  test('output past the cap kills the program and is cut at the cap, on a character boundary', async () => {
    const r = await runCommand({
      ...base(),
      binary: '/usr/bin/cat',
      args: ['big.txt'],
      maxOutputBytes: 1000,
    });
    assert.equal(r.truncated, true);
    assert.equal(r.stdout.length, 1000);
    const utf = await runCommand({
      ...base(),
      binary: '/usr/bin/echo',
      args: ['€€€€'],
      maxOutputBytes: 4,
    });
    assert.deepEqual([utf.stdout, utf.truncated], ['€', true]);
  });

  test('a program past its time limit is killed and says so', async () => {
    const started = Date.now();
    const r = await runCommand({
      ...base(),
      binary: '/usr/bin/tail',
      args: ['-f', 'a.txt'],
      timeoutMs: 300,
    });
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    assert.deepEqual(
      { ...r, stdout: undefined },
      {
        stdout: undefined,
        stderr: '',
        exit_code: null,
        signal: 'SIGKILL',
        truncated: false,
        timed_out: true,
      },
    );
    assert.equal(r.stdout, 'one\ntwo\n', 'what it wrote before is kept');
  });
});

describe('shell_runner handler', () => {
  let inbox = '';
  before(async () => {
    inbox = await realpath(await mkdtemp(join(tmpdir(), 'shr-h-')));
    await writeFile(join(inbox, 'a.txt'), 'hello\n');
    execFileSync('mkfifo', [join(inbox, 'fifo')]); // nobody writes it: opening it waits for ever
  });
  after(() => rm(inbox, { recursive: true, force: true }));
  const context = { config: { commands: COMMANDS } };

  test('runs in the first allowed directory and answers { stdout, stderr, exit_code, signal, truncated, timed_out }', async () => {
    const r = await runShell({ command: 'wc', args: ['-c', 'a.txt'] }, context, [inbox]);
    assert.deepEqual(r, {
      stdout: '6 a.txt\n',
      stderr: '',
      exit_code: 0,
      signal: null,
      truncated: false,
      timed_out: false,
    });
  });

  test('rejects by rule before anything runs', async () => {
    await rejectsAsync(
      runShell({ command: 'rm', args: ['a.txt'] }, context, [inbox]),
      'command_not_allowed',
    );
    await rejectsAsync(
      runShell({ command: 'cat', args: ['/etc/passwd'] }, context, [inbox]),
      'path_escape',
    );
  });

  test('a path in an option value meets the path rules in every form; echo and tr take paths as text', async () => {
    const every = { config: { commands: Object.keys(TABLES) } };
    assert.match(
      (await runShell({ command: 'date', args: ['-r', 'a.txt', '+%Y'] }, every, [inbox])).stdout,
      /^20\d\d\n$/,
    );
    await rejectsAsync(
      runShell({ command: 'date', args: ['-r', '../a.txt'] }, every, [inbox]),
      'path_dotdot',
    );
    for (const args of [
      ['--reference=/etc/passwd'],
      ['--ref', '/etc/passwd'],
      ['-ur/etc/passwd'],
      ['-r', '/etc/passwd'],
    ]) {
      await rejectsAsync(runShell({ command: 'date', args }, every, [inbox]), 'path_escape');
    }
    assert.equal(
      (await runShell({ command: 'echo', args: ['/etc/passwd', '..'] }, every, [inbox])).stdout,
      '/etc/passwd ..\n',
    );
    assert.equal(
      (await runShell({ command: 'tr', args: ['/', '_'], stdin: 'a/b' }, every, [inbox])).stdout,
      'a_b',
    );
    await rejectsAsync(
      runShell({ command: 'cat', args: ['/etc/passwd'] }, every, [inbox]),
      'path_escape',
    );
  });

  test("the command's limit stays inside the invocation's deadline", async () => {
    const now = Date.now();
    const r = await runShell(
      { command: 'cat', args: ['a.txt', 'fifo'] },
      { ...context, deadline: now + 800 },
      [inbox],
      now,
    );
    assert.equal(r.timed_out, true);
    assert.ok(Date.now() - now < 2000);
  });

  test('without an allowed directory, or with a misconfigured one, nothing runs', async () => {
    await assert.rejects(
      runShell({ command: 'date' }, context, []),
      /ConfigInvalid|no allowed directory/,
    );
    await assert.rejects(
      runShell({ command: 'date' }, { config: { commands: ['ls'], max_args: -1 } }, [inbox]),
      /max_args must be/,
    );
    assert.deepEqual(allowedFromEnv({ TITAN_FS_ALLOW: '["/srv/inbox"]' }), ['/srv/inbox']);
    assert.throws(
      () => allowedFromEnv({ TITAN_FS_ALLOW: '{"a":1}' }),
      /TITAN_FS_ALLOW is not a JSON list/,
    );
  });
});
