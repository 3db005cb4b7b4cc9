// `titan new <name> [--runtime node|typescript|python] [--dir D]`: a working function folder from the
// templates beside this file: a manifest with the common keys commented, a handler using `event` and
// `context`, and for TypeScript the handler types (titan.ts) and a tsconfig so `tsc --noEmit` checks it.
// The folder is written under a temporary name and renamed into place: a gateway watching D never
// deploys half of it.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isValidFunctionName } from '../../runtime/manifest.ts';
import { UsageError } from './usage.ts';

export const SCAFFOLD_RUNTIMES = ['node', 'typescript', 'python'] as const;
export type ScaffoldRuntime = (typeof SCAFFOLD_RUNTIMES)[number];

const TEMPLATES = fileURLToPath(new URL('./templates/', import.meta.url));

/** The manifest lines that differ by runtime (everything else is commented). */
const MANIFEST_KEYS: Record<ScaffoldRuntime, string> = {
  node: '',
  typescript: 'handler: index.ts             # built with esbuild on deploy\n',
  python: 'runtime: python               # runs main.py\n',
};

export async function newCommand(
  args: string[],
  opts: { runtime?: string; dir?: string },
): Promise<void> {
  if (args.length !== 1)
    throw new UsageError(`new takes one function name (got ${args.length} arguments)`);
  const out = await scaffold(args[0]!, opts);
  process.stdout.write(
    `created ${out.dir} (${out.runtime}): ${out.files.join(', ')}\n` +
      `deploy it by putting the folder in the gateway's functions directory, then:\n` +
      `  npx titan invoke ${args[0]} -d '{"name":"Ada"}'\n`,
  );
}

/** Writes the folder; returns where and what. Throws UsageError for a bad name or runtime, or an existing folder. */
export async function scaffold(
  name: string,
  opts: { runtime?: string; dir?: string } = {},
): Promise<{ dir: string; runtime: ScaffoldRuntime; files: string[] }> {
  if (!isValidFunctionName(name)) {
    throw new UsageError(
      `'${String(name).slice(0, 80)}' is not a function name: a lowercase letter followed by up to 62 of a-z, 0-9, _ and -`,
    );
  }
  const runtime = (opts.runtime ?? 'node') as ScaffoldRuntime;
  if (!SCAFFOLD_RUNTIMES.includes(runtime))
    throw new UsageError(
      `--runtime must be one of ${SCAFFOLD_RUNTIMES.join(', ')} (got ${opts.runtime})`,
    );
  const parent = path.resolve(opts.dir ?? '.');
  const target = path.join(parent, name);
  if (
    await lstat(target).then(
      () => true,
      () => false,
    )
  )
    throw new UsageError(
      `${target} already exists; pick another name or --dir, or remove it first`,
    );

  const fill = (text: string) => text.replaceAll('__NAME__', name);
  const files: Record<string, string> = { 'function.yaml': fill(await manifest(runtime)) };
  const from = path.join(TEMPLATES, runtime);
  for (const f of await readdir(from)) files[f] = fill(await readFile(path.join(from, f), 'utf8'));

  await mkdir(parent, { recursive: true });
  const staging = path.join(parent, `.titan-new-${name}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging);
  try {
    for (const [f, text] of Object.entries(files))
      await writeFile(path.join(staging, f), text, { flag: 'wx' });
    // Checked again at the last moment: rename would replace an empty directory made meanwhile.
    if (
      await lstat(target).then(
        () => true,
        () => false,
      )
    )
      throw new UsageError(`${target} already exists`);
    await rename(staging, target);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  return { dir: target, runtime, files: Object.keys(files).sort() };
}

async function manifest(runtime: ScaffoldRuntime): Promise<string> {
  const keys = await readFile(path.join(TEMPLATES, 'manifest-keys.yaml'), 'utf8');
  return (
    `# __NAME__: a Titan function, made by \`titan new\`. Every key is optional; the defaults come from the\n` +
    `# gateway's config/runtime.yaml (README: "Manifest keys"). Uncomment what you need.\n` +
    `version: "0.1.0"\n` +
    `description: __NAME__\n` +
    MANIFEST_KEYS[runtime] +
    keys
  );
}
