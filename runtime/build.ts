// The deploy-time build step for handlers that Node cannot load as they are (TypeScript): esbuild
// bundles the handler and the folder's own modules into one ES module in the state directory.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { TitanError } from './errors.ts';
import { isWithin } from './permissions.ts';
import type { FunctionSpec } from './spec.ts';

/** Where sandbox.ts mounts the function folder; the build output goes beside it (BUILD_MOUNT). */
const FN_MOUNT = '/fn';
/** Compiler errors shown in the function's error, at most. */
const MAX_ERRORS = 10;

export const needsBuild = (handler: string): boolean => /\.m?ts$/.test(handler);

/** The builds of one gateway: `<state_dir>/build/<function>-<hash>-<nonce>/`. */
export const buildRoot = (stateDir: string): string => path.join(stateDir, 'build');

/**
 * Returns the spec with `build` set when its handler needs one, the spec itself otherwise. Throws
 * function_invalid with the compiler's messages as `<folder>/<file>:<line>:<column>: <text>`.
 *
 * Every call writes a directory of its own, named after the output's hash plus a nonce: a redeploy
 * never rewrites files under containers of the old version still draining, and two deployments of
 * the same content never share a directory that the first one's drain would remove (removeBuild).
 */
export async function buildHandler(spec: FunctionSpec, root: string): Promise<FunctionSpec> {
  if (!needsBuild(spec.handler)) return spec;
  const dir = await realpath(spec.dir);
  const folder = path.basename(spec.dir);
  const outName = `${path.posix.basename(spec.handler).replace(/\.m?ts$/, '')}.mjs`;
  // Only the folder's own tsconfig.json counts: one found above it (esbuild looks upwards) is not
  // part of the function, and a change to it would not redeploy it.
  const tsconfig = path.join(dir, 'tsconfig.json');
  const ownTsconfig = await lstat(tsconfig).then(
    () => true,
    () => false,
  );
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      absWorkingDir: dir,
      ...(ownTsconfig ? { tsconfig } : { tsconfigRaw: {} }),
      entryPoints: [spec.handler],
      // Nothing is written here (write: false); placing the output at the folder's root makes the
      // source map's paths relative to the folder, which sourceRoot then points at /fn.
      outfile: path.join(dir, outName),
      write: false,
      metafile: true,
      bundle: true, // relative imports (other .ts files) are resolved now; the output is self-contained
      packages: 'external', // node_modules stay imports, resolved at run time through the link below
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'linked',
      sourcesContent: false,
      sourceRoot: `${FN_MOUNT}/`,
      // Bundled CommonJS files of the folder may `require` built-ins; ESM output has no `require`.
      banner: {
        js: `import { createRequire as __titanCreateRequire } from 'node:module'; const require = __titanCreateRequire(import.meta.url);`,
      },
      logLevel: 'silent',
      plugins: [confineTo(dir)],
    });
  } catch (err) {
    throw compileError(spec, folder, err);
  }
  const exports = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.exports ?? [];
  if (!exports.includes('default') && !exports.includes('handler')) {
    throw new TitanError(
      'function_invalid',
      `${folder}/${spec.handler} exports no function: expected a default export or an export named 'handler'`,
    );
  }

  const hash = createHash('sha256');
  for (const f of result.outputFiles)
    hash.update(path.basename(f.path)).update('\0').update(f.contents);
  const out = path.join(
    root,
    `${spec.name}-${hash.digest('hex').slice(0, 12)}-${randomBytes(3).toString('hex')}`,
  );
  try {
    // Readable by the container's user whatever the gateway's umask.
    await mkdir(out, { recursive: true });
    await chmod(out, 0o755);
    for (const f of result.outputFiles) {
      const file = path.join(out, path.basename(f.path));
      await writeFile(file, f.contents);
      await chmod(file, 0o644);
    }
    // Bare imports resolve from the module's own directory upwards; the link (to the container's
    // path) sends them to the function folder's node_modules.
    if (
      await lstat(path.join(dir, 'node_modules')).then(
        () => true,
        () => false,
      )
    ) {
      await symlink(`${FN_MOUNT}/node_modules`, path.join(out, 'node_modules'));
    }
  } catch (err) {
    await rm(out, { recursive: true, force: true });
    throw err;
  }
  return { ...spec, build: { dir: out, handler: outName } };
}

/** Remove a deployment's build output once no container uses it (its pool drained). Never rejects. */
export async function removeBuild(spec: FunctionSpec): Promise<void> {
  // One that cannot be removed is a harmless leftover; the next gateway start clears the build root.
  if (spec.build) await rm(spec.build.dir, { recursive: true, force: true }).catch(() => {});
}

/**
 * The function sees only its folder (and what permissions.fs allows): a bundle must not carry host
 * files into the container, so loading anything outside the folder fails the build.
 */
function confineTo(dir: string): esbuild.Plugin {
  return {
    name: 'titan-confine',
    setup(build) {
      build.onLoad({ filter: /.*/ }, (args) => {
        if (args.namespace !== 'file' || isWithin(args.path, dir)) return undefined;
        return {
          errors: [
            {
              text: `'${path.relative(dir, args.path)}' is outside the function folder: a handler may import only the folder's own files and its node_modules`,
            },
          ],
        };
      });
    },
  };
}

function compileError(spec: FunctionSpec, folder: string, err: unknown): TitanError {
  const messages = (err as Partial<esbuild.BuildFailure>).errors;
  if (!messages?.length)
    return new TitanError(
      'function_invalid',
      `building ${folder}/${spec.handler} failed: ${(err as Error).message}`,
    );
  const lines = messages.slice(0, MAX_ERRORS).map((m) => {
    const at = m.location
      ? `${folder}/${m.location.file}:${m.location.line}:${m.location.column + 1}`
      : `${folder}/${spec.handler}`;
    return `${at}: ${m.text}`;
  });
  if (messages.length > MAX_ERRORS) lines.push(`(${messages.length - MAX_ERRORS} more)`);
  const head =
    lines.length === 1
      ? 'TypeScript build failed: '
      : `TypeScript build failed (${messages.length} errors):\n`;
  const first = messages[0]!.location;
  return new TitanError(
    'function_invalid',
    head + lines.join('\n'),
    first ? { file: first.file, line: first.line, column: first.column + 1 } : undefined,
  );
}
