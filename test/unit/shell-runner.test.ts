// shell_runner's rules, settings and runner, imported from functions/shell_runner and run on this
// host against real temporary directories (a real symlink for the links out).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { allowedFromEnv, runShell } from '../../functions/shell_runner/index.ts';
import { checkPaths, pathCandidates } from '../../functions/shell_runner/paths.ts';
import { resolveBinary, runCommand, utf8Prefix } from '../../functions/shell_runner/run.ts';
import { parseSettings, type Settings } from '../../functions/shell_runner/settings.ts';
import { InputRejected, validateRequest, type Rule } from '../../functions/shell_runner/validate.ts';

const COMMANDS = ['ls', 'cat', 'wc', 'head', 'tail', 'grep', 'date', 'echo'];
const settings = (extra: Record<string, unknown> = {}): Settings => parseSettings({ commands: COMMANDS, ...extra });

/** Asserts `fn` throws an InputRejected for `rule`, its message starting `rule <rule>:`; returns the message. */
function rejects(fn: () => unknown, rule: Rule): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InputRejected, `expected InputRejected, got ${(e as Error).name}: ${(e as Error).message}`);
    assert.equal(e.name, 'InputRejected');
    assert.equal(e.rule, rule, e.message);
    assert.ok(e.message.startsWith(`rule ${rule}: `), e.message);
    return e.message;
  }
  assert.fail(`expected rule ${rule} to reject`);
}

async function rejectsAsync(p: Promise<unknown>, rule: Rule): Promise<string> {
  const e = await p.then(() => assert.fail(`expected rule ${rule} to reject`), (err: unknown) => err);
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
    assert.equal(settings({ max_output_bytes: 10, reject_shell_metacharacters: false }).maxOutputBytes, 10);
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
      [{ commands: ['ls'], reject_shell_metacharacters: 'yes' }, /reject_shell_metacharacters must be true or false/],
    ];
    for (const [config, message] of bad) assert.throws(() => parseSettings(config), (e: Error) => e.name === 'ConfigInvalid' && message.test(e.message), JSON.stringify(config));
  });
});

describe('shell_runner input rules', () => {
  const s = settings();

  test('a whitelisted command with string arguments passes; args default to []', () => {
    assert.deepEqual(validateRequest({ command: 'wc', args: ['-c', 'a.txt'], stdin: 'x' }, s), { command: 'wc', args: ['-c', 'a.txt'], stdin: 'x' });
    assert.deepEqual(validateRequest({ command: 'date' }, s), { command: 'date', args: [] });
  });

  test('the input must be an object with known keys', () => {
    for (const e of [null, 'ls', ['ls'], 3]) rejects(() => validateRequest(e, s), 'input_type');
    assert.match(rejects(() => validateRequest({ command: 'ls', shell: true }, s), 'unknown_key'), /"shell"/);
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
    assert.match(rejects(() => validateRequest({ command: 'ls', args: ['-l', 3] }, s), 'args_type'), /argument 2 is number/);
    rejects(() => validateRequest({ command: 'echo', args: Array(65).fill('x') }, s), 'too_many_args');
    validateRequest({ command: 'echo', args: Array(64).fill('x') }, s);
    rejects(() => validateRequest({ command: 'echo', args: ['x'.repeat(4097)] }, s), 'arg_too_long');
    rejects(() => validateRequest({ command: 'echo', args: ['a\0b'] }, s), 'arg_nul');
  });

  test('shell metacharacters in an argument are refused unless the config allows them', () => {
    for (const arg of ['; rm -rf /', 'a && b', 'a|b', '`id`', '$(id)', '$HOME', '<x', '>x', '(x)', 'a\nb']) {
      rejects(() => validateRequest({ command: 'ls', args: [arg] }, s), 'shell_metacharacter');
    }
    const lax = settings({ reject_shell_metacharacters: false });
    assert.deepEqual(validateRequest({ command: 'echo', args: ['a;b'] }, lax).args, ['a;b']);
  });

  test("an option that runs another program is refused, abbreviated or not", () => {
    const withSort = parseSettings({ commands: ['sort'] });
    for (const arg of ['--compress-program=sh', '--compress-prog=sh', '--co=sh']) rejects(() => validateRequest({ command: 'sort', args: [arg] }, withSort), 'option_not_allowed');
    validateRequest({ command: 'sort', args: ['--check', '-r'] }, withSort);
  });

  test('stdin is a string within max_stdin_bytes', () => {
    rejects(() => validateRequest({ command: 'wc', stdin: 5 }, s), 'stdin_type');
    assert.match(rejects(() => validateRequest({ command: 'wc', stdin: 'é'.repeat(40_000) }, s), 'stdin_too_large'), /80000 bytes, at most 65536/);
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
    check('a.txt', './a.txt', 'sub', 'sub/', '.', 'missing/deeper/file', join(inbox, 'a.txt'), inbox, 'in', '-l', '--', '-', 'pattern', 'a/b', '[/]usr/', '.[.]');
  });

  test("a '..' segment is refused wherever it is", () => {
    for (const arg of ['..', '../outside/secret', 'sub/../a.txt', '../../etc/passwd', '--file=../x', '-f../x', '-f..']) {
      assert.match(rejects(() => check(arg), 'path_dotdot'), /contains a '\.\.' path segment/);
    }
  });

  test('absolute paths outside, option values outside and symlinks out are refused', () => {
    const m = rejects(() => check('a.txt', '/etc/passwd'), 'path_escape');
    assert.equal(m, `rule path_escape: argument 2 "/etc/passwd" leaves the allowed directories (${inbox})`);
    for (const arg of ['/', root, join(outside, 'secret'), '--file=/etc/passwd', '-f/etc/passwd', 'if=/etc/passwd', '-fout']) rejects(() => check(arg), 'path_escape');
    assert.match(rejects(() => check('out'), 'path_escape'), /through a symbolic link \(/);
    assert.match(rejects(() => check('dirout/secret'), 'path_escape'), /through a symbolic link/);
    assert.match(rejects(() => check('dirout/not-yet'), 'path_escape'), /through a symbolic link/, 'a missing file behind a link out is out');
    assert.match(rejects(() => check('dangling'), 'path_escape'), /symbolic link whose target does not exist/);
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
    const cuts = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) => utf8Prefix(buf, n).toString('utf8'));
    assert.deepEqual(cuts, ['', 'a', 'a', 'aé', 'aé', 'aé', 'aé€', 'aé€', 'aé€', 'aé€', 'aé€😀', 'aé€😀']);
  });

  test('runs a program with arguments, stdin and its exit code; no shell sees the arguments', async () => {
    const r = await runCommand({ ...base(), binary: '/usr/bin/echo', args: ['$HOME', ';', 'ls'] });
    assert.deepEqual(r, { stdout: '$HOME ; ls\n', stderr: '', exit_code: 0, signal: null, truncated: false, timed_out: false });
    assert.equal((await runCommand({ ...base(), binary: '/usr/bin/wc', args: ['-l'], stdin: 'a\nb\nc\n' })).stdout.trim(), '3');
    const failed = await runCommand({ ...base(), binary: '/usr/bin/ls', args: ['missing'] });
    assert.equal(failed.exit_code, 2);
    assert.match(failed.stderr, /missing/);
  });

  test('output past the cap kills the program and is cut at the cap, on a character boundary', async () => {
    const r = await runCommand({ ...base(), binary: '/usr/bin/cat', args: ['big.txt'], maxOutputBytes: 1000 });
    assert.equal(r.truncated, true);
    assert.equal(r.stdout.length, 1000);
    const utf = await runCommand({ ...base(), binary: '/usr/bin/echo', args: ['€€€€'], maxOutputBytes: 4 });
    assert.deepEqual([utf.stdout, utf.truncated], ['€', true]);
  });

  test('a program past its time limit is killed and says so', async () => {
    const started = Date.now();
    const r = await runCommand({ ...base(), binary: '/usr/bin/tail', args: ['-f', 'a.txt'], timeoutMs: 300 });
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    assert.deepEqual({ ...r, stdout: undefined }, { stdout: undefined, stderr: '', exit_code: null, signal: 'SIGKILL', truncated: false, timed_out: true });
    assert.equal(r.stdout, 'one\ntwo\n', 'what it wrote before is kept');
  });
});

describe('shell_runner handler', () => {
  let inbox = '';
  before(async () => {
    inbox = await realpath(await mkdtemp(join(tmpdir(), 'shr-h-')));
    await writeFile(join(inbox, 'a.txt'), 'hello\n');
  });
  after(() => rm(inbox, { recursive: true, force: true }));
  const context = { config: { commands: COMMANDS } };

  test('runs in the first allowed directory and answers { stdout, stderr, exit_code, signal, truncated, timed_out }', async () => {
    const r = await runShell({ command: 'wc', args: ['-c', 'a.txt'] }, context, [inbox]);
    assert.deepEqual(r, { stdout: '6 a.txt\n', stderr: '', exit_code: 0, signal: null, truncated: false, timed_out: false });
  });

  test('rejects by rule before anything runs', async () => {
    await rejectsAsync(runShell({ command: 'rm', args: ['a.txt'] }, context, [inbox]), 'command_not_allowed');
    await rejectsAsync(runShell({ command: 'cat', args: ['/etc/passwd'] }, context, [inbox]), 'path_escape');
  });

  test("the command's limit stays inside the invocation's deadline", async () => {
    const now = Date.now();
    const r = await runShell({ command: 'tail', args: ['-f', 'a.txt'] }, { ...context, deadline: now + 800 }, [inbox], now);
    assert.equal(r.timed_out, true);
    assert.ok(Date.now() - now < 2000);
  });

  test('without an allowed directory, or with a misconfigured one, nothing runs', async () => {
    await assert.rejects(runShell({ command: 'date' }, context, []), /ConfigInvalid|no allowed directory/);
    await assert.rejects(runShell({ command: 'date' }, { config: { commands: ['ls'], max_args: -1 } }, [inbox]), /max_args must be/);
    assert.deepEqual(allowedFromEnv({ TITAN_FS_ALLOW: '["/srv/inbox"]' }), ['/srv/inbox']);
    assert.throws(() => allowedFromEnv({ TITAN_FS_ALLOW: '{"a":1}' }), /TITAN_FS_ALLOW is not a JSON list/);
  });
});
