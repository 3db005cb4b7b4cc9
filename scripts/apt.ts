// setup's Installer on Debian and Ubuntu: apt-get, non-interactive, with progress lines parsed from
// its output (the whole output goes to a log), and with no service started: a temporary policy-rc.d
// refuses every start while packages install, so no system dockerd creates a bridge or iptables rules
// and no system redis takes port 6379.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Installer } from './system-packages.ts';

/** Marks the policy-rc.d setup writes, so a setup killed mid-install has its leftover removed by the next. */
const POLICY_MARK = '# written by titan-functions `npm run setup` while it installs packages';
const UPDATE_TIMEOUT_MS = 180_000;
const INSTALL_TIMEOUT_MS = 1_200_000;

type Phase = 'downloaded' | 'unpacked' | 'set up';

/** Turns apt-get install's output into a few progress lines: totals, then each quarter downloaded, unpacked and set up. */
export class AptProgress {
  private total = 0;
  private readonly counts: Record<Phase, number> = { downloaded: 0, unpacked: 0, 'set up': 0 };
  private readonly shown: Record<Phase, number> = { downloaded: 0, unpacked: 0, 'set up': 0 };

  constructor(private readonly elapsed: () => string) {}

  line(text: string): string | undefined {
    const planned = /^(\d+) upgraded, (\d+) newly installed/.exec(text);
    if (planned) {
      this.total = Number(planned[1]) + Number(planned[2]);
      return `${this.total} packages to install, dependencies included`;
    }
    const size = /^Need to get (\S+ \S+)/.exec(text);
    if (size) return `${size[1]} to download`;
    if (/^Get:\d+ /.test(text)) return this.step('downloaded');
    const fetched = /^Fetched (\S+ \S+) in (\S+)/.exec(text);
    if (fetched) return `fetched ${fetched[1]} in ${fetched[2]}`;
    if (/^Unpacking /.test(text)) return this.step('unpacked');
    if (/^Setting up /.test(text)) return this.step('set up');
    if (/^[EW]: /.test(text)) return text;
    return undefined;
  }

  /** A line when the count reaches the next quarter of the total (every 25 packages while it is unknown). */
  private step(what: Phase): string | undefined {
    const n = ++this.counts[what];
    const every = this.total ? Math.max(1, Math.ceil(this.total / 4)) : 25;
    if (n - this.shown[what] < every && n !== this.total) return undefined;
    this.shown[what] = n;
    return `${what} ${n}${this.total ? `/${this.total}` : ''} packages (${this.elapsed()})`;
  }
}

export interface AptOptions {
  /** apt-get's whole output is appended here */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** the paths below are options so that tests run a fake apt-get without touching the machine */
  aptGet?: string;
  policyRcD?: string;
  /** present while systemd is the init */
  systemdDir?: string;
}

export class AptInstaller implements Installer {
  constructor(private readonly opts: AptOptions) {}

  async install(pkgs: string[], progress: (line: string) => void): Promise<void> {
    const started = performance.now();
    const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
    await mkdir(dirname(this.opts.logFile), { recursive: true });
    const release = await blockServiceStarts(this.opts.policyRcD ?? '/usr/sbin/policy-rc.d');
    try {
      await this.run(['update', '-q'], () => {}, UPDATE_TIMEOUT_MS);
      progress(
        `package lists updated (apt-get update, ${elapsed()}); full output in ${this.opts.logFile}`,
      );
      const parse = new AptProgress(elapsed);
      const args = [
        'install',
        '-y',
        '-q',
        '--no-install-recommends',
        // Wait for another apt to finish rather than fail; keep any config file the admin changed.
        '-o',
        'DPkg::Lock::Timeout=120',
        '-o',
        'Dpkg::Options::=--force-confdef',
        '-o',
        'Dpkg::Options::=--force-confold',
        ...pkgs,
      ];
      await this.run(
        args,
        (line) => {
          const shown = parse.line(line);
          if (shown) progress(shown);
        },
        INSTALL_TIMEOUT_MS,
      );
    } finally {
      release();
    }
    if (pkgs.includes('docker.io'))
      await keepSystemDockerdOff(this.opts.systemdDir ?? '/run/systemd/system', progress);
  }

  /** apt-get with `args`; each output line to `onLine` and the log. Rejects with apt's own error lines. */
  private run(args: string[], onLine: (line: string) => void, timeoutMs: number): Promise<void> {
    const env = {
      ...(this.opts.env ?? process.env),
      DEBIAN_FRONTEND: 'noninteractive',
      // needrestart (if installed) would otherwise restart running services after the install.
      NEEDRESTART_SUSPEND: '1',
      APT_LISTCHANGES_FRONTEND: 'none',
    };
    return new Promise((resolve, reject) => {
      const child = spawn(this.opts.aptGet ?? 'apt-get', args, {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const tail: string[] = [];
      let log = Promise.resolve();
      const line = (text: string) => {
        tail.push(text);
        if (tail.length > 15) tail.shift();
        onLine(text);
      };
      // Each stream splits into lines on its own, so that stdout and stderr never mix within a line.
      const flushes = [child.stdout, child.stderr].map((stream) => {
        let partial = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          const lines = (partial + chunk).split('\n');
          partial = lines.pop()!;
          lines.forEach(line);
          log = log.then(() => appendFile(this.opts.logFile, chunk)).catch(() => {});
        });
        return () => partial && line(partial);
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
      }, timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`apt-get could not be started (${err.message})`));
      });
      child.once('close', async (code, signal) => {
        clearTimeout(timer);
        for (const flush of flushes) flush();
        await log;
        if (code === 0) return resolve();
        const errors = tail.filter((l) => /^E: /.test(l));
        const why = timedOut
          ? `did not finish within ${timeoutMs / 1000} s`
          : `exited with ${signal ?? `code ${code}`}`;
        reject(
          new Error(
            `apt-get ${args[0]} ${why}: ${(errors.length ? errors : tail.slice(-5)).join(' / ')} (log: ${this.opts.logFile})`,
          ),
        );
      });
    });
  }
}

/**
 * docker.io enables docker.service and docker.socket: on a systemd machine the next boot (or the first
 * touch of /var/run/docker.sock) would start a system dockerd with the docker0 bridge and iptables
 * rules. setup runs its own dockerd without them, so the units it just installed are disabled.
 */
async function keepSystemDockerdOff(
  systemdDir: string,
  progress: (line: string) => void,
): Promise<void> {
  if (!existsSync(systemdDir)) return; // no systemd: nothing starts it
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('systemctl', ['disable', '--quiet', 'docker.service', 'docker.socket'], {
      stdio: 'ignore',
    });
    child.once('error', () => resolve(null));
    child.once('close', resolve);
  });
  progress(
    code === 0
      ? "docker.io's system service is disabled: setup runs its own dockerd (`systemctl enable --now docker` to use the system one)"
      : `could not disable docker.io's system service (systemctl ${code === null ? 'is missing' : `exited with code ${code}`}): a system dockerd may start at boot`,
  );
}

/**
 * Writes a policy-rc.d that refuses every service start, unless the admin has one (theirs stays).
 * Returns what removes ours: called after the install, and on SIGINT/SIGTERM, since an interrupted
 * setup must not leave the machine refusing to start services.
 */
async function blockServiceStarts(path: string): Promise<() => void> {
  if (existsSync(path) && !readFileSync(path, 'utf8').includes(POLICY_MARK)) return () => {};
  await writeFile(path, `#!/bin/sh\n${POLICY_MARK}\nexit 101\n`, { mode: 0o755 });
  const onSignal = (signal: NodeJS.Signals) => {
    release();
    process.kill(process.pid, signal);
  };
  const release = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(path, { force: true });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return release;
}
