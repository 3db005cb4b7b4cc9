// Unit tests for what `npm run setup` installs (scripts/system-packages.ts, scripts/apt.ts): the plan
// from a machine's facts, when setup installs and when it stops with the command, through a fake
// Installer; and the apt-get installer against a fake apt-get that checks no service may start.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AptInstaller, AptProgress } from '../../scripts/apt.ts';
import {
  ensurePackages,
  installingOff,
  MissingPackagesError,
  planPackages,
  whyNotInstall,
  type Facts,
  type Installer,
} from '../../scripts/system-packages.ts';

/** A fresh Debian 12 as root: Node.js, npm and git, nothing else this project needs. */
const fresh = (over: Partial<Facts> = {}, commands: Partial<Facts['commands']> = {}): Facts => ({
  root: true,
  apt: true,
  noInstall: false,
  dockerHost: false,
  engineAnswers: false,
  commands: {
    dockerd: false,
    podman: false,
    docker: false,
    'redis-server': false,
    apparmor_parser: false,
    ...commands,
  },
  apparmorEnforced: false,
  redisUrl: false,
  embeddedRedis: true,
  python3: false,
  chromium: false,
  runsc: false,
  gvisor: false,
  ...over,
});
/** A machine with everything in place. */
const complete = (over: Partial<Facts> = {}, commands: Partial<Facts['commands']> = {}): Facts =>
  fresh(
    { engineAnswers: true, python3: true, chromium: true, runsc: true, ...over },
    { dockerd: true, docker: true, 'redis-server': true, apparmor_parser: true, ...commands },
  );

const plan = (f: Facts) =>
  planPackages(f).map((n) => `${n.pkg}:${n.required ? 'required' : 'optional'}`);

class FakeInstaller implements Installer {
  calls: string[][] = [];
  constructor(private readonly failure?: string) {}
  async install(pkgs: string[], progress: (line: string) => void): Promise<void> {
    this.calls.push(pkgs);
    progress('3 packages to install, dependencies included');
    if (this.failure) throw new Error(this.failure);
  }
}

function recorder() {
  const lines: string[] = [];
  return {
    lines,
    out: {
      done: (l: string) => lines.push(`✓ ${l}`),
      detail: (l: string) => lines.push(`  ${l}`),
      warn: (l: string) => lines.push(`! ${l}`),
    },
  };
}

describe('planPackages: what this machine lacks', () => {
  test('a fresh Debian needs docker.io and redis-server for the runtime, python3 and chromium besides', () => {
    assert.deepEqual(plan(fresh()), [
      'docker.io:required',
      'redis-server:required',
      'python3:optional',
      'chromium:optional',
      'runsc:optional',
    ]);
  });

  test('a complete machine needs nothing', () => {
    assert.deepEqual(plan(complete()), []);
  });

  test('an engine that answers, DOCKER_HOST, an installed dockerd or Podman: no docker.io for the runtime', () => {
    assert.deepEqual(plan(complete({ engineAnswers: true }, { dockerd: false })), []);
    assert.deepEqual(
      plan(complete({ engineAnswers: false, dockerHost: true }, { dockerd: false })),
      [],
    );
    assert.deepEqual(plan(complete({ engineAnswers: false }, { dockerd: true })), []);
    assert.deepEqual(
      plan(complete({ engineAnswers: false }, { dockerd: false, podman: true })),
      [],
    );
  });

  test('AppArmor enforced without apparmor_parser: apparmor, but only when setup will start dockerd itself', () => {
    const noParser = { apparmor_parser: false };
    assert.deepEqual(plan(fresh({ apparmorEnforced: true })), [
      'docker.io:required',
      'apparmor:required',
      'redis-server:required',
      'python3:optional',
      'chromium:optional',
      'runsc:optional',
    ]);
    assert.deepEqual(plan(complete({ engineAnswers: false, apparmorEnforced: true }, noParser)), [
      'apparmor:required',
    ]);
    // Someone else's engine answers, or DOCKER_HOST names one, or not root (Podman), or AppArmor is off.
    assert.deepEqual(plan(complete({ engineAnswers: true, apparmorEnforced: true }, noParser)), []);
    assert.deepEqual(
      plan(complete({ engineAnswers: false, dockerHost: true, apparmorEnforced: true }, noParser)),
      [],
    );
    assert.deepEqual(
      plan(complete({ engineAnswers: false, root: false, apparmorEnforced: true }, noParser)),
      [],
    );
    assert.deepEqual(
      plan(complete({ engineAnswers: false, apparmorEnforced: false }, noParser)),
      [],
    );
  });

  test('redis-server is a runtime need only while events start their own Redis; the tests always run it', () => {
    const noRedis = { 'redis-server': false };
    assert.deepEqual(plan(complete({}, noRedis)), ['redis-server:required']);
    assert.deepEqual(plan(complete({ redisUrl: true }, noRedis)), ['redis-server:optional']);
    assert.deepEqual(plan(complete({ embeddedRedis: false }, noRedis)), ['redis-server:optional']);
    const why = planPackages(complete({ redisUrl: true }, noRedis))[0]!.why;
    assert.equal(
      why,
      'for `npm test`: the event tests start private redis-servers to stop and restart',
    );
  });

  test('python3 and chromium are wanted when their paths are missing', () => {
    assert.deepEqual(plan(complete({ python3: false })), ['python3:optional']);
    assert.deepEqual(plan(complete({ chromium: false })), ['chromium:optional']);
    assert.equal(
      planPackages(complete({ chromium: false }))[0]!.why,
      'for `npm test`: test/security/browser.test.ts drives a real browser (/usr/bin/chromium)',
    );
  });

  test('runsc: installed whenever setup may (optional), required when sandbox.isolation or TITAN_GVISOR asks for gVisor', () => {
    assert.deepEqual(plan(complete({ runsc: false })), ['runsc:optional']);
    assert.deepEqual(plan(complete({ runsc: false, gvisor: true })), ['runsc:required']);
    assert.deepEqual(plan(complete({ gvisor: true })), []);
  });

  test('an engine without the docker CLI: the tests need it, from docker.io, or podman-docker beside Podman alone', () => {
    assert.deepEqual(plan(complete({ dockerHost: true }, { dockerd: false, docker: false })), [
      'docker.io:optional',
    ]);
    assert.deepEqual(
      plan(complete({ engineAnswers: true }, { dockerd: false, podman: true, docker: false })),
      ['podman-docker:optional'],
    );
    // On a fresh machine docker.io is planned once, for the runtime, and brings the CLI with it.
    assert.equal(planPackages(fresh()).filter((n) => n.pkg === 'docker.io').length, 1);
  });
});

describe('whether setup installs', () => {
  test('it installs as root with apt-get, unless TITAN_SETUP_NO_INSTALL says not to', () => {
    assert.equal(whyNotInstall(fresh()), undefined);
    assert.equal(
      whyNotInstall(fresh({ noInstall: true })),
      'TITAN_SETUP_NO_INSTALL is set: setup installs nothing',
    );
    assert.equal(
      whyNotInstall(fresh({ apt: false })),
      'apt-get is not available: setup installs only on Debian and Ubuntu',
    );
    assert.equal(whyNotInstall(fresh({ root: false })), 'setup is not running as root');
  });

  test('TITAN_SETUP_NO_INSTALL: any value but "", "0" or "false" turns installing off', () => {
    assert.deepEqual(
      ['1', 'true', 'yes', '', '0', 'false'].map((v) =>
        installingOff({ TITAN_SETUP_NO_INSTALL: v }),
      ),
      [true, true, true, false, false, false],
    );
    assert.equal(installingOff({}), false);
  });
});

describe('ensurePackages', () => {
  test('a fresh machine as root: one install of every missing package, saying what and why', async () => {
    const installer = new FakeInstaller();
    const { lines, out } = recorder();
    let t = 0;
    const result = await ensurePackages(fresh(), installer, out, () => (t += 61_500));
    assert.deepEqual(installer.calls, [
      ['docker.io', 'redis-server', 'python3', 'chromium', 'runsc'],
    ]);
    assert.deepEqual(result, {
      outcome: 'installed',
      pkgs: ['docker.io', 'redis-server', 'python3', 'chromium', 'runsc'],
      ms: 61_500,
    });
    assert.equal(
      lines[0],
      '  installing docker.io, redis-server, python3, chromium, runsc with apt-get (root on Debian/Ubuntu; TITAN_SETUP_NO_INSTALL=1 turns this off):',
    );
    assert.equal(
      lines[1],
      '    docker.io: no container engine is installed: dockerd runs the function containers (setup starts it without a bridge or iptables rules)',
    );
    assert.equal(
      lines[4],
      '    chromium: for `npm test`: test/security/browser.test.ts drives a real browser (/usr/bin/chromium)',
    );
    assert.equal(lines[6], '    3 packages to install, dependencies included');
    assert.equal(
      lines.at(-1),
      '✓ system packages: installed docker.io, redis-server, python3, chromium, runsc (apt-get, 61.5 s; no service was started)',
    );
  });

  test('nothing missing: the installer is not called', async () => {
    const installer = new FakeInstaller();
    assert.deepEqual(await ensurePackages(complete(), installer, recorder().out), {
      outcome: 'none',
    });
    assert.deepEqual(installer.calls, []);
  });

  test('not root: setup stops, listing every missing package with why, then the exact sudo command; nothing installed', async () => {
    const installer = new FakeInstaller();
    await assert.rejects(
      ensurePackages(fresh({ root: false }), installer, recorder().out),
      (err: Error) => {
        assert.ok(err instanceof MissingPackagesError);
        assert.equal(
          err.message,
          [
            'packages are missing (setup is not running as root):',
            '  docker.io: no container engine is installed: dockerd runs the function containers (setup starts it without a bridge or iptables rules)',
            '  redis-server: events are on (events.embedded_redis) and no REDIS_URL is given: the gateway starts a private redis-server',
            '  python3: /usr/bin/python3 is missing: where no registry answers, the python runtime image is built from it',
            '  chromium: for `npm test`: test/security/browser.test.ts drives a real browser (/usr/bin/chromium)',
            '  runsc: for `isolation: gvisor` functions and `npm test`: setup registers gVisor (runsc) with the dockerd it starts',
            '  install them with: sudo apt-get install docker.io redis-server python3 chromium runsc',
            '  then run `npm run setup` again',
          ].join('\n'),
        );
        return true;
      },
    );
    assert.deepEqual(installer.calls, []);
  });

  test('TITAN_SETUP_NO_INSTALL as root: stops with the command, without sudo', async () => {
    const installer = new FakeInstaller();
    await assert.rejects(ensurePackages(fresh({ noInstall: true }), installer, recorder().out), {
      message:
        /^packages are missing \(TITAN_SETUP_NO_INSTALL is set: setup installs nothing\):\n(.*\n){5} {2}install them with: apt-get install docker\.io redis-server python3 chromium runsc\n {2}then run `npm run setup` again$/,
    });
    assert.deepEqual(installer.calls, []);
  });

  test('no apt-get: what to install by hand, by name', async () => {
    await assert.rejects(
      ensurePackages(fresh({ apt: false }), new FakeInstaller(), recorder().out),
      {
        message:
          /^packages are missing \(apt-get is not available: setup installs only on Debian and Ubuntu\):\n(.*\n){5} {2}install them with your system's package manager: Docker Engine \(or Podman\), Redis \(redis-server\), Python 3 at \/usr\/bin\/python3, Chromium at \/usr\/bin\/chromium, gVisor's runsc at \/usr\/bin\/runsc\n {2}then run `npm run setup` again$/,
      },
    );
  });

  test("the install fails (no network): setup stops with apt's reason and the command", async () => {
    const installer = new FakeInstaller(
      'apt-get update exited with code 100: E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease',
    );
    await assert.rejects(ensurePackages(fresh(), installer, recorder().out), {
      message:
        /^packages are missing \(installing them failed: apt-get update exited with code 100: E: Failed to fetch http:\/\/deb\.debian\.org\/debian\/dists\/bookworm\/InRelease\):\n(.*\n){5} {2}install them with: apt-get install docker\.io redis-server python3 chromium runsc\n {2}then run `npm run setup` again$/,
    });
    assert.equal(installer.calls.length, 1);
  });

  test("only the test suite's needs missing and not root: warnings with the command, setup goes on", async () => {
    const { lines, out } = recorder();
    const result = await ensurePackages(
      complete({ root: false, chromium: false, python3: false }),
      new FakeInstaller(),
      out,
    );
    assert.deepEqual(result, { outcome: 'missing', pkgs: ['python3', 'chromium'] });
    assert.deepEqual(lines, [
      '! python3 is not installed: /usr/bin/python3 is missing: where no registry answers, the python runtime image is built from it',
      '! chromium is not installed: for `npm test`: test/security/browser.test.ts drives a real browser (/usr/bin/chromium)',
      '! setup is not running as root; install them with: sudo apt-get install python3 chromium',
    ]);
  });
});

describe('AptProgress: a few lines out of apt-get install', () => {
  test("totals, each quarter downloaded, unpacked and set up, apt's errors; nothing else", () => {
    let s = 0;
    const p = new AptProgress(() => `${++s} s`);
    const transcript = [
      'Reading package lists...',
      'The following NEW packages will be installed:',
      '  docker.io redis-server',
      '0 upgraded, 8 newly installed, 0 to remove and 22 not upgraded.',
      'Need to get 74.0 MB of archives.',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `Get:${i + 1} http://deb.debian.org/debian bookworm/main amd64 pkg${i} 1.0 [1 MB]`,
      ),
      'Fetched 74.0 MB in 9s (8,222 kB/s)',
      ...Array.from({ length: 8 }, (_, i) => [
        `Selecting previously unselected package pkg${i}.`,
        `Preparing to unpack .../pkg${i}_1.0_amd64.deb ...`,
        `Unpacking pkg${i} (1.0) ...`,
      ]).flat(),
      ...Array.from({ length: 8 }, (_, i) => `Setting up pkg${i} (1.0) ...`),
      'W: an apt warning',
      'E: an apt error',
    ];
    const shown = transcript.map((l) => p.line(l)).filter((l) => l !== undefined);
    assert.deepEqual(shown, [
      '8 packages to install, dependencies included',
      '74.0 MB to download',
      'downloaded 2/8 packages (1 s)',
      'downloaded 4/8 packages (2 s)',
      'downloaded 6/8 packages (3 s)',
      'downloaded 8/8 packages (4 s)',
      'fetched 74.0 MB in 9s',
      'unpacked 2/8 packages (5 s)',
      'unpacked 4/8 packages (6 s)',
      'unpacked 6/8 packages (7 s)',
      'unpacked 8/8 packages (8 s)',
      'set up 2/8 packages (9 s)',
      'set up 4/8 packages (10 s)',
      'set up 6/8 packages (11 s)',
      'set up 8/8 packages (12 s)',
      'W: an apt warning',
      'E: an apt error',
    ]);
  });
});

describe('AptInstaller against a fake apt-get', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'titan-apt-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A fake apt-get that records its arguments, whether a service could start, and its environment. */
  async function fakeApt(name: string, body: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(
      path,
      `#!/bin/sh\necho "$* | frontend=$DEBIAN_FRONTEND" >> ${dir}/${name}.calls\n${body}\n`,
    );
    await chmod(path, 0o755);
    return path;
  }

  test('update, then install without recommends; services refused meanwhile (policy-rc.d exits 101), removed after', async () => {
    const policy = join(dir, 'policy-rc.d');
    const aptGet = await fakeApt(
      'apt-ok',
      [
        `"${policy}" docker start; echo "policy-rc.d says $?" >> ${dir}/apt-ok.calls`,
        '[ "$1" = install ] && { echo "0 upgraded, 2 newly installed, 0 to remove and 0 not upgraded."; echo "Get:1 x a"; echo "Get:2 x b"; echo "Unpacking a (1) ..."; echo "Unpacking b (1) ..."; echo "Setting up a (1) ..."; echo "Setting up b (1) ..."; }',
        'exit 0',
      ].join('\n'),
    );
    const lines: string[] = [];
    await new AptInstaller({
      logFile: join(dir, 'apt.log'),
      aptGet,
      policyRcD: policy,
      systemdDir: join(dir, 'no-systemd'),
    }).install(['docker.io', 'redis-server'], (l) => lines.push(l));
    const calls = (await readFile(join(dir, 'apt-ok.calls'), 'utf8')).trim().split('\n');
    assert.deepEqual(calls, [
      'update -q | frontend=noninteractive',
      'policy-rc.d says 101',
      'install -y -q --no-install-recommends -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold docker.io redis-server | frontend=noninteractive',
      'policy-rc.d says 101',
    ]);
    assert.equal(
      existsSync(policy),
      false,
      'the policy-rc.d setup wrote is removed after the install',
    );
    assert.match(lines[0]!, /^package lists updated \(apt-get update, \d+ s\); full output in /);
    assert.deepEqual(
      lines.slice(1).map((l) => l.replace(/\(\d+ s\)/, '(N s)')),
      [
        '2 packages to install, dependencies included',
        'downloaded 1/2 packages (N s)',
        'downloaded 2/2 packages (N s)',
        'unpacked 1/2 packages (N s)',
        'unpacked 2/2 packages (N s)',
        'set up 1/2 packages (N s)',
        'set up 2/2 packages (N s)',
      ],
    );
    assert.match(await readFile(join(dir, 'apt.log'), 'utf8'), /Setting up b \(1\) \.\.\./);
  });

  test("an admin's own policy-rc.d is used and left in place", async () => {
    const policy = join(dir, 'admin-policy-rc.d');
    await writeFile(policy, '#!/bin/sh\nexit 104\n', { mode: 0o755 });
    const aptGet = await fakeApt('apt-admin', 'exit 0');
    await new AptInstaller({
      logFile: join(dir, 'apt.log'),
      aptGet,
      policyRcD: policy,
      systemdDir: join(dir, 'no-systemd'),
    }).install(['chromium'], () => {});
    assert.equal(await readFile(policy, 'utf8'), '#!/bin/sh\nexit 104\n');
  });

  test("apt-get update failing (no network): the error names apt's own E: line, and policy-rc.d is removed", async () => {
    const policy = join(dir, 'policy-rc.d');
    const aptGet = await fakeApt(
      'apt-offline',
      [
        'echo "Err:1 http://deb.debian.org/debian bookworm InRelease"',
        // The last line has no newline: it must still be read.
        'printf "E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving \'deb.debian.org\'" >&2',
        'exit 100',
      ].join('\n'),
    );
    const installer = new AptInstaller({
      logFile: join(dir, 'apt.log'),
      aptGet,
      policyRcD: policy,
      systemdDir: join(dir, 'no-systemd'),
    });
    await assert.rejects(
      installer.install(['docker.io'], () => {}),
      {
        message: `apt-get update exited with code 100: E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org' (log: ${join(dir, 'apt.log')})`,
      },
    );
    assert.equal(existsSync(policy), false);
  });
});
