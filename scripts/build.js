// The gateway compiled for `npm start`: gateway/main.ts bundled with what
// it imports from this repository into dist/ (npm packages stay in node_modules), with source maps,
// so the gateway runs without tsx's loader and its stack traces still name the .ts sources.
// Plain JavaScript: bin/start.js runs it before anything is compiled. `node scripts/build.js` builds;
// `--if-stale` builds only when a source is newer than the build.
import { readFileSync, renameSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leanDepsPlugin, REQUIRE_BANNER, STUB_NAMESPACE } from './lean-deps.js';

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const DIST = join(ROOT, 'dist');
export const ENTRIES = { main: 'gateway/main.ts' };
/** Every source file the last build read (esbuild's metafile): what the staleness check stats. */
const INPUTS = '.inputs.json';

/**
 * Code finds files next to its source (runtime/bootstrap/, config/, package.json) through
 * `import.meta.url`, which in a bundle is the bundle's URL. Each module's is rewritten to the URL of
 * its own source, relative to the bundle, so the same paths resolve as under tsx, wherever the
 * checkout lives. Occurrences inside a template literal (code written for containers, runtime/build.ts)
 * are text, not this module's URL: a line with an odd number of backticks before it is left alone.
 */
function sourceUrlPlugin(outdir) {
  return {
    name: 'source-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return { contents: text, loader: 'ts' };
        const rel = JSON.stringify(relative(outdir, args.path).split('\\').join('/'));
        const contents = text
          .split('\n')
          .map((line) =>
            line.replace(/import\.meta\.url/g, (m, at) => {
              const ticks = (line.slice(0, at).match(/`/g) ?? []).length;
              return ticks % 2 === 1 ? m : `new URL(${rel}, import.meta.url).href`;
            }),
          )
          .join('\n');
        return { contents, loader: 'ts' };
      });
    },
  };
}

/** Bundles `entries` ({ name: source path }) into `outdir`; each file is replaced whole (rename), never half-written. */
export async function build({ entries = ENTRIES, outdir = DIST, root = ROOT } = {}) {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: Object.fromEntries(
      Object.entries(entries).map(([name, src]) => [name, resolve(root, src)]),
    ),
    outdir,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: 'error',
    banner: { js: REQUIRE_BANNER },
    plugins: [leanDepsPlugin(), sourceUrlPlugin(outdir)],
  });
  mkdirSync(outdir, { recursive: true });
  // Maps before their bundles: a bundle never points at a map from another build.
  const files = [...result.outputFiles].sort(
    (a, b) => Number(b.path.endsWith('.map')) - Number(a.path.endsWith('.map')),
  );
  for (const f of files) {
    const tmp = `${f.path}.${process.pid}.tmp`;
    writeFileSync(tmp, f.contents);
    renameSync(tmp, f.path);
  }
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.startsWith(`${STUB_NAMESPACE}:`))
    .map((p) => relative(root, resolve(process.cwd(), p)));
  const tmp = join(outdir, `${INPUTS}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify({ entries, inputs }));
  renameSync(tmp, join(outdir, INPUTS));
  return { inputs };
}

const mtime = (file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs;

/** Why dist/ must be rebuilt, or undefined when it is up to date: a few hundred stat calls. */
export function staleReason({ outdir = DIST, root = ROOT, entries = ENTRIES } = {}) {
  let recorded;
  try {
    recorded = JSON.parse(readFileSync(join(outdir, INPUTS), 'utf8'));
  } catch {
    return 'not built yet';
  }
  if (JSON.stringify(recorded.entries) !== JSON.stringify(entries))
    return 'the entry points changed';
  const built = Math.min(
    ...Object.keys(entries).map((name) => mtime(join(outdir, `${name}.js`)) ?? 0),
  );
  if (!built) return 'a bundle is missing';
  // The build script itself counts: a change to how the build is made makes every build stale.
  for (const file of [
    ...recorded.inputs.map((f) => join(root, f)),
    fileURLToPath(import.meta.url),
  ]) {
    const m = mtime(file);
    if (m === undefined) return `${relative(root, file)} is gone`;
    if (m > built) return `${relative(root, file)} changed`;
  }
  return undefined;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const reason = process.argv.includes('--if-stale') ? staleReason() : 'asked';
  if (reason) {
    const started = performance.now();
    await build();
    process.stdout.write(
      `✓ gateway compiled to dist/ (${reason}; ${Math.round(performance.now() - started)} ms)\n`,
    );
  }
}
