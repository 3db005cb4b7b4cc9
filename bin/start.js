#!/usr/bin/env node
// `npm start`: runs the compiled gateway (dist/main.js), compiling it first when a source is newer
// than the build (scripts/build.js), in a child process so esbuild never lives in the gateway's memory.
// Source maps are on, so stack traces name the .ts sources.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, ROOT, staleReason } from '../scripts/build.js';

/** Makes sure dist/ matches the sources; exits on a failed build (esbuild has printed why). */
export function ensureBuilt() {
  const reason = staleReason();
  if (!reason) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.js')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) {
    process.stderr.write(
      `titan: compiling the gateway failed (${reason}); fix the error above, or run the sources with \`npm run dev\`\n`,
    );
    process.exit(1);
  }
}

process.setSourceMapsEnabled(true);
ensureBuilt();
await import(pathToFileURL(join(DIST, 'main.js')).href);
