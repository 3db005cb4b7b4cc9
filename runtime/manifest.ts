// The function manifest (function.yaml): its schema, defaults from the runtime config, and loading a folder.
// The schema is in manifest/schema.ts, validation and defaults in manifest/resolve.ts.
import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RuntimeConfig } from './config.ts';
import { parseYaml } from './schema-util.ts';
import { isWithin } from './permissions.ts';
import type { FunctionSpec } from './spec.ts';
import { manifestError } from './manifest/error.ts';
import { resolve } from './manifest/resolve.ts';

export {
  isValidFunctionName,
  type Manifest,
  ManifestSchema,
  MAX_CONFIG_BYTES,
  NAME_PATTERN,
} from './manifest/schema.ts';
export {
  DEFAULT_HANDLER,
  httpMethods,
  type ResolveOptions,
  resolveManifest,
} from './manifest/resolve.ts';

export const MANIFEST_FILES = ['function.yaml', 'plugin.yaml'] as const;

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

/** The handler must be a regular file that really lives in the folder (a symlink may not leave it). */
async function checkHandler(dir: string, handler: string): Promise<string | undefined> {
  const shown = `handler: '${handler}'`;
  try {
    const real = await realpath(path.join(dir, handler));
    if (!isWithin(real, await realpath(dir)))
      return `${shown} resolves to '${real}', outside the function folder`;
    if (!(await stat(real)).isFile()) return `${shown} is not a regular file`;
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? `${shown} does not exist in the function folder`
      : `${shown}: ${(e as Error).message}`;
  }
}

/** Reads `<dir>/function.yaml` (or its alias plugin.yaml) and returns the resolved spec. */
export async function loadFunctionFolder(
  dir: string,
  config: RuntimeConfig,
): Promise<FunctionSpec> {
  const abs = path.resolve(dir);
  const folderName = path.basename(abs);
  const fail = (file: string, problems: string[]) => manifestError(file, problems, { dir: abs });

  const present: string[] = [];
  for (const f of MANIFEST_FILES) if (await exists(path.join(abs, f))) present.push(f);
  if (present.length === 0) {
    const why = (await exists(abs))
      ? 'no function.yaml (or plugin.yaml) in the folder'
      : 'folder not found';
    throw fail(folderName, [`${why} (${abs})`]);
  }
  // Two manifests would leave it to chance which one wins.
  if (present.length > 1)
    throw fail(folderName, [
      'both function.yaml and plugin.yaml exist; keep one (plugin.yaml is an alias)',
    ]);
  const file = `${folderName}/${present[0]}`;

  let text: string;
  try {
    text = await readFile(path.join(abs, present[0]!), 'utf8');
  } catch (e) {
    throw fail(file, [(e as Error).message]);
  }
  const parsed = parseYaml(text);
  if (!parsed.ok) throw fail(file, parsed.problems);

  const { spec, problems } = resolve(parsed.value, { dir: abs, folderName, config, file });
  const handlerProblem = spec ? await checkHandler(abs, spec.handler) : undefined;
  if (!spec || handlerProblem)
    throw fail(file, [...problems, ...(handlerProblem ? [handlerProblem] : [])]);
  return spec;
}
