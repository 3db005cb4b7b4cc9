// Setup step: a function folder with a package-lock.json gets its own node_modules (`npm ci`), as a
// user would run it before dropping the folder in. The container sees only the folder, so a
// handler's packages must live inside it (runtime/build.ts keeps them external imports).
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface FunctionDeps {
  folder: string;
  outcome: 'up to date' | 'installed';
  ms: number;
}

const mtime = (p: string) =>
  stat(p).then(
    (s) => s.mtimeMs,
    () => undefined,
  );

/** npm rewrites node_modules/.package-lock.json on every install: older than the lockfile means stale. */
async function upToDate(dir: string): Promise<boolean> {
  const installed = await mtime(join(dir, 'node_modules', '.package-lock.json'));
  const lock = await mtime(join(dir, 'package-lock.json'));
  return installed !== undefined && lock !== undefined && installed >= lock;
}

function npmCi(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'npm',
      ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`npm ci in ${dir} exited with ${code}: ${stderr.trim()}`)),
    );
  });
}

/** Installs the dependencies of every function folder that declares some and lacks them. */
export async function installFunctionDeps(functionsDir: string): Promise<FunctionDeps[]> {
  const entries = await readdir(functionsDir, { withFileTypes: true }).catch(() => []);
  const done: FunctionDeps[] = [];
  for (const e of entries) {
    const dir = join(functionsDir, e.name);
    if (!e.isDirectory() || (await mtime(join(dir, 'package-lock.json'))) === undefined) continue;
    const since = performance.now();
    const fresh = await upToDate(dir);
    if (!fresh) await npmCi(dir);
    done.push({
      folder: e.name,
      outcome: fresh ? 'up to date' : 'installed',
      ms: performance.now() - since,
    });
  }
  return done;
}
