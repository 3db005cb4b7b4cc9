// `npm run setup`. Plain JavaScript because the dependencies (tsx among them) may not be installed yet:
// step 1 installs them, step 2 hands over to scripts/setup.ts (engine and runtime image).
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const mtime = (file) => statSync(join(root, file), { throwIfNoEntry: false })?.mtimeMs;

/** Why the dependencies need installing, or undefined when node_modules is up to date. */
function installReason() {
  // npm rewrites node_modules/.package-lock.json on every install: its age is the install's age.
  const installed = mtime('node_modules/.package-lock.json') ?? mtime('node_modules');
  if (installed === undefined) return 'node_modules is missing';
  const lock = mtime('package-lock.json') ?? mtime('package.json');
  if (lock !== undefined && installed < lock) return 'node_modules is older than the lockfile';
  return undefined;
}

// `npm run setup -- --no-install`: the same as TITAN_SETUP_NO_INSTALL=1 (no Debian package is installed).
if (process.argv.includes('--no-install')) process.env.TITAN_SETUP_NO_INSTALL = '1';

const reason = installReason();
if (reason) {
  const args = mtime('package-lock.json') === undefined ? ['install'] : ['ci'];
  process.stdout.write(`… installing dependencies: npm ${args[0]} (${reason})\n`);
  const started = performance.now();
  const npm = spawnSync('npm', [...args, '--no-audit', '--no-fund'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (npm.status !== 0) {
    const why = npm.error
      ? npm.error.message
      : `it exited with ${npm.signal ?? `code ${npm.status}`}`;
    process.stderr.write(
      `✗ setup failed: npm ${args[0]} did not succeed (${why}); fix the error above and run \`npm run setup\` again\n`,
    );
    process.exit(1);
  }
  process.stdout.write(
    `✓ dependencies installed (npm ${args[0]}, ${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
  );
} else {
  process.stdout.write('✓ dependencies installed (node_modules is up to date)\n');
}

const { register } = await import('tsx/esm/api');
register();
const { setup } = await import(pathToFileURL(join(root, 'scripts', 'setup.ts')).href);
process.exitCode = await setup();
