#!/usr/bin/env node
// `npm start`: runs the compiled gateway (dist/main.js), compiling it first when a source is newer
// than the build (scripts/build.js), in a child process so esbuild never lives in the gateway's memory.
// Source maps are on, so stack traces name the .ts sources.
//
// V8's young generation is capped by `--max-semi-space-size=8` in package.json's start script, not
// here: V8 sizes its heap when the process starts, so a flag set from this file (v8.setFlagsFromString)
// would change nothing. The default (16 MiB semi-spaces, 32 MiB committed once a busy gateway grew
// it) was most of the RSS a gateway gained under load and kept (1.32x idle after 100,000 calls); at 8
// MiB it is 1.10-1.15x. 4 MiB kept 1.01x but scavenged so often under 32 connections that throughput
// fell ~10% (3 alternated pairs, bench/README.md, issue #14); 8 was within the noise of the default.
// `titan serve` (bin/titan.js) gets the same flag from its shebang (`env -S`).
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
