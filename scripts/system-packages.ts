// Setup step: which Debian packages this machine lacks for the runtime and for `npm test`, and why.
// Decided from facts (probed once, or given by a test) by planPackages; installed through an
// Installer when setup may (root, apt-get, not TITAN_SETUP_NO_INSTALL=1); otherwise setup stops with
// the exact command to run (runtime needs) or warns with it (python3 and the test suite's needs).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { RuntimeConfig } from '../runtime/config.ts';
import { locateEngine, onPath, type EngineKind } from '../runtime/engine/locate.ts';
import { podmanRuntime, preferredEngine } from '../runtime/engine/podman.ts';
import { HOST_PYTHON } from '../runtime/image/runtime-image.ts';
import { RUNSC_PATH } from '../runtime/engine/runtimes.ts';

/** Debian's Chromium, where test/security/browser.test.ts launches it. */
export const CHROMIUM = '/usr/bin/chromium';

/** What this machine has, as far as the plan cares. */
export interface Facts {
  root: boolean;
  /** apt-get on the PATH: a Debian or Ubuntu machine */
  apt: boolean;
  /** TITAN_SETUP_NO_INSTALL=1: the user manages packages themselves */
  noInstall: boolean;
  /** DOCKER_HOST is set: that engine, and no other, is the one to use (the engine step reports it) */
  dockerHost: boolean;
  /** an engine answers already (default socket, the one an earlier setup started, Podman's socket) */
  engineAnswers: boolean;
  /** installed commands, by name: dockerd, podman, docker, redis-server, apparmor_parser */
  commands: Record<'dockerd' | 'podman' | 'docker' | 'redis-server' | 'apparmor_parser', boolean>;
  /** /sys/module/apparmor/parameters/enabled says Y */
  apparmorEnforced: boolean;
  /** REDIS_URL or events.redis_url names a Redis */
  redisUrl: boolean;
  /** events.embedded_redis: without a URL the gateway starts a private redis-server */
  embeddedRedis: boolean;
  /** /usr/bin/python3 exists (runtime/image's HOST_PYTHON) */
  python3: boolean;
  /** CHROMIUM exists */
  chromium: boolean;
  /** gVisor's runsc exists (runtime/engine/runtimes.ts RUNSC_PATH) */
  runsc: boolean;
  /** sandbox.isolation is gvisor, or TITAN_GVISOR is set: functions run under runsc by default */
  gvisor: boolean;
  /** TITAN_ENGINE: the engine setup must start when none of that kind answers (unset: setup picks) */
  wantEngine?: EngineKind;
  /** runc is installed: Podman's OCI runtime here (its default, crun, fails on a cgroup v1 host) */
  runc?: boolean;
}

export interface Need {
  /** the Debian package */
  pkg: string;
  why: string;
  /** what to install on a machine without apt-get */
  elsewhere: string;
  /** without it the runtime cannot do what it is configured to: setup stops when it stays missing */
  required: boolean;
}

/** Every package this machine lacks, in install order, each once. */
export function planPackages(f: Facts): Need[] {
  const needs: Need[] = [];
  // TITAN_ENGINE=podman, or Podman is the only engine installed (startLocalEngine then starts it)
  const podmanChosen =
    f.wantEngine === 'podman' ||
    (f.wantEngine === undefined && f.commands.podman && !f.commands.dockerd);
  const startsPodman = podmanChosen && !f.dockerHost && !f.engineAnswers;
  if (startsPodman && !f.commands.podman) {
    needs.push({
      pkg: 'podman',
      required: true,
      elsewhere: 'Podman',
      why: "TITAN_ENGINE=podman: setup starts Podman's API service to run the function containers",
    });
  }
  if (startsPodman && f.runc === false) {
    needs.push({
      pkg: 'runc',
      required: true,
      elsewhere: 'runc',
      why: "Podman's OCI runtime here: its default, crun, cannot run on a cgroup v1 host (runc is the one dockerd uses)",
    });
  }
  const engineMissing =
    f.wantEngine !== 'podman' &&
    !f.dockerHost &&
    !f.engineAnswers &&
    !f.commands.dockerd &&
    !f.commands.podman;
  if (engineMissing) {
    needs.push({
      pkg: 'docker.io',
      required: true,
      elsewhere: 'Docker Engine (or Podman)',
      why: 'no container engine is installed: dockerd runs the function containers (setup starts it without a bridge or iptables rules)',
    });
  }
  // setup starts dockerd itself only as root, when nothing answers (startLocalEngine prefers dockerd).
  // Podman loads its container profile with apparmor_parser too.
  const startsEngine =
    f.root &&
    !f.dockerHost &&
    !f.engineAnswers &&
    (f.commands.dockerd || engineMissing || startsPodman);
  if (startsEngine && f.apparmorEnforced && !f.commands.apparmor_parser) {
    needs.push({
      pkg: 'apparmor',
      required: true,
      elsewhere: "AppArmor's apparmor_parser",
      why: 'this kernel enforces AppArmor, and dockerd loads its container profile with apparmor_parser (only a recommendation of docker.io)',
    });
  }
  if (!f.commands['redis-server']) {
    const runtime = f.embeddedRedis && !f.redisUrl;
    needs.push({
      pkg: 'redis-server',
      required: runtime,
      elsewhere: 'Redis (redis-server)',
      why: runtime
        ? 'events are on (events.embedded_redis) and no REDIS_URL is given: the gateway starts a private redis-server'
        : 'for `npm test`: the event tests start private redis-servers to stop and restart',
    });
  }
  if (!f.python3) {
    needs.push({
      pkg: 'python3',
      required: false,
      elsewhere: 'Python 3 at /usr/bin/python3',
      why: '/usr/bin/python3 is missing: where no registry answers, the python runtime image is built from it',
    });
  }
  if (!f.chromium) {
    needs.push({
      pkg: 'chromium',
      required: false,
      elsewhere: `Chromium at ${CHROMIUM}`,
      why: `for \`npm test\`: test/security/browser.test.ts drives a real browser (${CHROMIUM})`,
    });
  }
  // Installed whenever setup may (like chromium): the dockerd setup starts registers it, so a manifest's
  // `isolation: gvisor` works, and the gVisor tests of `npm test` run. Required only when asked for.
  if (!f.runsc) {
    needs.push({
      pkg: 'runsc',
      required: f.gvisor,
      elsewhere: `gVisor's runsc at ${RUNSC_PATH}`,
      why: f.gvisor
        ? "sandbox.isolation is gvisor (or TITAN_GVISOR is set): functions run under gVisor's runsc"
        : 'for `isolation: gvisor` functions and `npm test`: setup registers gVisor (runsc) with the dockerd it starts',
    });
  }
  // The integration tests drive the engine through the docker CLI too. docker.io ships it with dockerd;
  // with Podman alone, podman-docker is the CLI (docker.io would make setup start dockerd instead).
  if (!f.commands.docker && !engineMissing) {
    const podmanOnly = (f.commands.podman || f.wantEngine === 'podman') && !f.commands.dockerd;
    needs.push({
      pkg: podmanOnly ? 'podman-docker' : 'docker.io',
      required: false,
      elsewhere: 'the docker CLI',
      why: 'for `npm test`: the image and shell_runner tests run the docker CLI',
    });
  }
  return needs;
}

/** Why setup will not install, or undefined when it may. */
export function whyNotInstall(f: Facts): string | undefined {
  if (f.noInstall) return 'TITAN_SETUP_NO_INSTALL is set: setup installs nothing';
  if (!f.apt) return 'apt-get is not available: setup installs only on Debian and Ubuntu';
  if (!f.root) return 'setup is not running as root';
  return undefined;
}

/** How to install `needs` by hand: the exact apt-get command, or what to install without apt. */
export function howToInstall(needs: Need[], f: Pick<Facts, 'root' | 'apt'>): string {
  if (!f.apt)
    return `install them with your system's package manager: ${[...new Set(needs.map((n) => n.elsewhere))].join(', ')}`;
  return `install them with: ${f.root ? '' : 'sudo '}apt-get install ${[...new Set(needs.map((n) => n.pkg))].join(' ')}`;
}

/** Installs Debian packages; throws an Error saying what failed (its message is shown as is). */
export interface Installer {
  install(pkgs: string[], progress: (line: string) => void): Promise<void>;
}

export interface Out {
  done(line: string): void;
  detail(line: string): void;
  warn(line: string): void;
}

export type PackagesOutcome =
  | { outcome: 'none' }
  | { outcome: 'installed'; pkgs: string[]; ms: number }
  /** some packages stay missing; none of them is required */
  | { outcome: 'missing'; pkgs: string[] };

/**
 * Thrown when a required package stays missing: the message lists every missing package with why,
 * then how to install them all, one per line so that the command can be copied.
 */
export class MissingPackagesError extends Error {
  constructor(needs: Need[], reason: string, how: string) {
    const lines = needs.map((n) => `  ${n.pkg}: ${n.why}`);
    super(
      `packages are missing (${reason}):\n${lines.join('\n')}\n  ${how}\n  then run \`npm run setup\` again`,
    );
    this.name = 'MissingPackagesError';
  }
}

/** Plans, installs when allowed, and reports; throws MissingPackagesError when a required need is left. */
export async function ensurePackages(
  f: Facts,
  installer: Installer,
  out: Out,
  now = () => performance.now(),
): Promise<PackagesOutcome> {
  const needs = planPackages(f);
  if (needs.length === 0) return { outcome: 'none' };
  const pkgs = [...new Set(needs.map((n) => n.pkg))];
  let reason = whyNotInstall(f);
  if (!reason) {
    out.detail(
      `installing ${pkgs.join(', ')} with apt-get (root on Debian/Ubuntu; TITAN_SETUP_NO_INSTALL=1 turns this off):`,
    );
    for (const n of needs) out.detail(`  ${n.pkg}: ${n.why}`);
    const since = now();
    try {
      await installer.install(pkgs, (line) => out.detail(`  ${line}`));
      const ms = now() - since;
      out.done(
        `system packages: installed ${pkgs.join(', ')} (apt-get, ${(ms / 1000).toFixed(1)} s; no service was started)`,
      );
      return { outcome: 'installed', pkgs, ms };
    } catch (err) {
      reason = `installing them failed: ${(err as Error).message}`;
    }
  }
  if (needs.some((n) => n.required))
    throw new MissingPackagesError(needs, reason, howToInstall(needs, f));
  for (const n of needs) out.warn(`${n.pkg} is not installed: ${n.why}`);
  out.warn(`${reason}; ${howToInstall(needs, f)}`);
  return { outcome: 'missing', pkgs };
}

/** Set to anything but "", "0" or "false", TITAN_SETUP_NO_INSTALL keeps setup from installing packages. */
export const installingOff = (env: NodeJS.ProcessEnv): boolean =>
  !['', '0', 'false'].includes(env.TITAN_SETUP_NO_INSTALL ?? '');

/** Debian puts daemons in sbin, which a non-root PATH often leaves out: look there too. */
const installed = (cmd: string, env: NodeJS.ProcessEnv) =>
  onPath(cmd, { ...env, PATH: `${env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin` });

/** The facts planPackages needs, read from this machine. */
export async function probeFacts(config: RuntimeConfig, env: NodeJS.ProcessEnv): Promise<Facts> {
  const names = ['dockerd', 'podman', 'docker', 'redis-server', 'apparmor_parser'] as const;
  const found = await Promise.all(names.map((n) => installed(n, env)));
  const apparmor = await readFile('/sys/module/apparmor/parameters/enabled', 'utf8').catch(
    () => '',
  );
  return {
    root: process.getuid?.() === 0,
    apt: await onPath('apt-get', env),
    noInstall: installingOff(env),
    dockerHost: Boolean(env.DOCKER_HOST),
    engineAnswers: !env.DOCKER_HOST && (await locateEngine(config.stateDir, env)) !== undefined,
    commands: Object.fromEntries(names.map((n, i) => [n, found[i]])) as Facts['commands'],
    apparmorEnforced: apparmor.startsWith('Y'),
    redisUrl: Boolean(env.REDIS_URL || config.events.redisUrl),
    embeddedRedis: config.events.embeddedRedis,
    python3: existsSync(HOST_PYTHON),
    chromium: existsSync(CHROMIUM),
    runsc: existsSync(RUNSC_PATH),
    gvisor:
      config.sandbox.isolation === 'gvisor' || !['', '0', 'false'].includes(env.TITAN_GVISOR ?? ''),
    wantEngine: preferredEngine(env),
    runc: podmanRuntime() !== undefined,
  };
}
