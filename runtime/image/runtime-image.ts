// Makes the function runtime image available: present already, pulled from a registry, or, on
// air-gapped machines, built locally from the host's own `node` (or `python3`) and the libraries it links.
import { execFile } from 'node:child_process';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  open,
  readdir,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { ContainerEngine } from '../engine/engine.ts';

const run = promisify(execFile);

/** Bump when the locally built image changes, so setups rebuild it. 2: /tmp is 1777. 3: HOST_COMMANDS. */
export const IMAGE_REV = '3';
const REV_LABEL = 'titan.image-rev';

export type ImageOutcome = 'present' | 'pulled' | 'built';

/** Which bootstrap the image must run: decides what a local build puts in it. */
export type ImageKind = 'node' | 'python';

export interface EnsureImageOptions {
  /** default 'node' */
  kind?: ImageKind;
  /** try a registry before building; off when TITAN_OFFLINE=1 (air-gapped machines, CI) */
  pull?: boolean;
  /** how long a pull may take to answer before we assume no registry is reachable */
  pullTimeoutMs?: number;
  log?: (line: string) => void;
}

export async function ensureRuntimeImage(
  engine: ContainerEngine,
  ref: string,
  {
    kind = 'node',
    pull = process.env.TITAN_OFFLINE !== '1',
    pullTimeoutMs = 20_000,
    log = () => {},
  }: EnsureImageOptions = {},
): Promise<ImageOutcome> {
  const build = async () => {
    if (kind === 'python') return buildHostPythonImage(engine, ref);
    const missing = await buildHostNodeImage(engine, ref);
    if (missing.length)
      log(`this host has no ${missing.join(', ')} to copy into ${ref}; functions cannot run them`);
  };
  const labels = await engine.imageLabels(ref);
  // An image this code built earlier is rebuilt when the recipe changed; any other image is left alone.
  const stale = labels?.[REV_LABEL] !== undefined && labels[REV_LABEL] !== IMAGE_REV;
  if (labels && !stale) return 'present';
  if (stale) {
    log(
      `image ${ref} was built locally by an older recipe (rev ${labels![REV_LABEL]}); rebuilding`,
    );
    await build();
    return 'built';
  }
  if (pull) {
    log(`image ${ref} is not present; trying to pull it`);
    try {
      await engine.pullImage(ref, pullTimeoutMs);
      return 'pulled';
    } catch (err) {
      log(`pull failed (${(err as Error).message.split('\n')[0]})`);
    }
  }
  log(
    `building ${ref} from this host's ${kind === 'python' ? HOST_PYTHON : `node ${process.version}`}`,
  );
  await build();
  return 'built';
}

/** The shared libraries `ldd` lists for a binary, as absolute paths (the vDSO has none). */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const libs = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = line.match(/=>\s*(\/\S+)/) ?? line.match(/^\s*(\/\S+)/);
    if (m) libs.add(m[1]);
  }
  return [...libs];
}

type Place = (src: string, dest: string) => Promise<void>;

/**
 * Builds `tag` FROM scratch out of a root filesystem that `fill` assembles through `place` (which
 * copies a host file to a path in the image, following symlinks so the real file lands there).
 */
async function buildFromRootfs(
  engine: ContainerEngine,
  tag: string,
  fill: (rootfs: string, place: Place) => Promise<void>,
  { describe, entrypoint }: { describe: string; entrypoint: string },
): Promise<void> {
  const ctx = await mkdtemp(join(tmpdir(), 'titan-image-'));
  try {
    const rootfs = join(ctx, 'rootfs');
    const place: Place = async (src, dest) => {
      await mkdir(join(rootfs, dirname(dest)), { recursive: true });
      await copyFile(src, join(rootfs, dest));
      // Python trusts a cached .pyc only while its source keeps the mtime it was compiled from.
      const { atime, mtime } = await stat(src);
      await utimes(join(rootfs, dest), atime, mtime);
    };
    await fill(rootfs, place);
    // A tmpfs mounted over an image directory takes that directory's mode: it must be 1777 here,
    // or the non-root function user cannot write /tmp however the tmpfs is mounted.
    await mkdir(join(rootfs, 'tmp'), { recursive: true });
    await chmod(join(rootfs, 'tmp'), 0o1777);
    await writeFile(
      join(ctx, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY rootfs/ /',
        'ENV PATH=/usr/local/bin:/usr/bin:/bin',
        `LABEL titan.local-build="${describe}" ${REV_LABEL}="${IMAGE_REV}"`,
        `ENTRYPOINT ["${entrypoint}"]`,
        '',
      ].join('\n'),
    );
    await engine.buildImage(ctx, ['Dockerfile', 'rootfs'], tag);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

/**
 * Commands the real node:20-bookworm-slim has and functions may run (functions/shell_runner): the
 * local build copies them too, so a whitelist works the same offline. Never a shell.
 */
export const HOST_COMMANDS = [
  'ls',
  'cat',
  'wc',
  'head',
  'tail',
  'grep',
  'date',
  'echo',
  'sort',
  'uniq',
  'cut',
  'tr',
  'stat',
  'env',
  'true',
  'false',
] as const;
const COMMAND_DIRS = ['/usr/bin', '/bin'];

/** Where a command is on this host as a real ELF binary (Debian's egrep is a shell script: never copied). */
async function hostCommand(name: string): Promise<string | undefined> {
  for (const dir of COMMAND_DIRS) {
    const path = join(dir, name);
    const file = await open(path).catch(() => undefined); // follows links, as copying will
    if (!file) continue;
    try {
      const magic = Buffer.alloc(4);
      await file.read(magic, 0, 4, 0);
      if (magic.equals(Buffer.from('\x7fELF', 'latin1'))) return path;
    } finally {
      await file.close();
    }
  }
  return undefined;
}

/**
 * An image holding `node`, HOST_COMMANDS and the libraries they link: no shell, no package manager.
 * The bootstrap and the function code are mounted at run time. Returns the commands this host lacks.
 */
export async function buildHostNodeImage(
  engine: ContainerEngine,
  tag: string,
  nodeBinary = process.execPath,
): Promise<string[]> {
  const missing: string[] = [];
  await buildFromRootfs(
    engine,
    tag,
    async (_rootfs, place) => {
      await place(nodeBinary, '/usr/local/bin/node');
      const binaries = [nodeBinary];
      for (const name of HOST_COMMANDS) {
        const found = await hostCommand(name);
        if (!found) missing.push(name);
        else {
          await place(found, found); // at its host path, which the image's PATH holds too
          binaries.push(found);
        }
      }
      const linked = await Promise.all(binaries.map((b) => sharedLibraries(b)));
      for (const lib of new Set(linked.flat())) await place(lib, lib);
    },
    { describe: `node ${process.version} from the host`, entrypoint: 'node' },
  );
  return missing;
}

/** Debian's interpreter (a pyenv shim or a venv on the PATH would not stand alone in an image). */
export const HOST_PYTHON = '/usr/bin/python3';
/** Parts of the standard library a function does not need; `config-*` is the static libpython (25 MB). */
const PY_SKIP =
  /^(test|tests|idle_test|idlelib|tkinter|turtledemo|ensurepip|lib2to3|site-packages|dist-packages|config-.*|_test.*\.so|.*\.opt-[12]\.pyc)$/;

/**
 * An image holding only the host's `python3`, its standard library and the libraries both link:
 * no shell, no pip. The compiled `__pycache__` of the standard library is kept: without it every
 * container start compiles the bootstrap's imports again (measured: 0.4 s becomes 1.4 s).
 */
export async function buildHostPythonImage(
  engine: ContainerEngine,
  tag: string,
  python = HOST_PYTHON,
): Promise<void> {
  let info: { version: string; stdlib: string; executable: string };
  try {
    const { stdout } = await run(python, [
      '-c',
      'import json, os, sys, sysconfig; print(json.dumps({"version": sys.version.split()[0], "stdlib": sysconfig.get_paths()["stdlib"], "executable": os.path.realpath(sys.executable)}))',
    ]);
    info = JSON.parse(stdout);
  } catch (err) {
    throw new Error(
      `cannot build ${tag}: ${python} does not run on this host (${(err as Error).message.split('\n')[0]}); install python3 or make ${tag} available`,
    );
  }
  await buildFromRootfs(
    engine,
    tag,
    async (rootfs, place) => {
      await place(info.executable, info.executable);
      if (info.executable !== '/usr/bin/python3') {
        await mkdir(join(rootfs, '/usr/bin'), { recursive: true });
        await symlink(info.executable, join(rootfs, '/usr/bin/python3'));
      }
      const binaries = [info.executable];
      for (const file of await stdlibFiles(info.stdlib)) {
        await place(file, file);
        if (file.endsWith('.so')) binaries.push(file);
      }
      const linked = await Promise.all(binaries.map((b) => sharedLibraries(b).catch(() => [])));
      for (const lib of new Set(linked.flat())) await place(lib, lib);
    },
    { describe: `python ${info.version} from the host`, entrypoint: 'python3' },
  );
}

/** Regular files of the standard library, minus PY_SKIP; symlinks are followed, dangling ones left out. */
async function stdlibFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (PY_SKIP.test(e.name)) continue;
    const path = join(dir, e.name);
    const st = await stat(path).catch(() => undefined); // follows links; Debian's sitecustomize.py points into /etc
    if (st?.isDirectory()) files.push(...(await stdlibFiles(path)));
    else if (st?.isFile()) files.push(path);
  }
  return files;
}
