// `titan deploy <folder>` and `titan rm <name>`: remote deploy through the admin API. The folder is
// packed here (regular files and directories only; deploy/pack.ts) and uploaded to
// PUT /functions/:name/source; the command ends when the gateway has deployed it, and fails (exit 1)
// when the gateway refused it or the new version did not replace the old one.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { ApiError, TitanClient } from '../client.ts';
import { packFolder, PackError } from '../deploy/pack.ts';
import { UsageError } from './usage.ts';

export interface RemoteOptions {
  /** the gateway's URL; default TITAN_URL, then the local default */
  gateway?: string;
  /** the admin token; default TITAN_ADMIN_TOKEN */
  token?: string;
}

const clientFor = (o: RemoteOptions) =>
  new TitanClient({
    url: o.gateway || process.env.TITAN_URL || undefined,
    token: o.token || process.env.TITAN_ADMIN_TOKEN || undefined,
  });

/** The name it deploys under: the manifest's `name:`, else the folder's name (as on the gateway). */
async function functionName(dir: string): Promise<string> {
  for (const file of ['function.yaml', 'plugin.yaml']) {
    const text = await readFile(path.join(dir, file), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    let name: unknown;
    try {
      name = (parse(text) as { name?: unknown } | null)?.name;
    } catch {
      // the gateway reports a broken manifest with line and column
    }
    return typeof name === 'string' ? name : path.basename(path.resolve(dir));
  }
  throw new UsageError(`${dir} has no function.yaml (or plugin.yaml): not a function folder`);
}

export async function deployCommand(args: string[], opts: RemoteOptions): Promise<void> {
  if (args.length !== 1)
    throw new UsageError(`deploy takes one folder (got ${args.length} arguments)`);
  const dir = args[0]!;
  const name = await functionName(dir);
  let packed: Awaited<ReturnType<typeof packFolder>>;
  try {
    packed = await packFolder(dir);
  } catch (err) {
    if (err instanceof PackError) throw new UsageError(err.message);
    throw err;
  }
  const out = await clientFor(opts).deploySource(name, packed.archive);
  const f = out.function;
  if (!out.deployed) {
    const why = f.update_failed
      ? `the new version failed (${f.update_failed.reason}); version ${f.version || '-'} keeps serving`
      : (f.error ?? f.status);
    throw new ApiError(
      422,
      f.update_failed?.code ?? 'function_invalid',
      `'${name}' was uploaded but not deployed: ${why}`,
    );
  }
  process.stderr.write(
    `deployed '${name}' version ${f.version} (${out.files} files, ${packed.archive.length} bytes uploaded): ${f.status}\n`,
  );
}

export async function rmCommand(args: string[], opts: RemoteOptions): Promise<void> {
  if (args.length !== 1)
    throw new UsageError(`rm takes one function name (got ${args.length} arguments)`);
  await clientFor(opts).removeFunction(args[0]!);
  process.stderr.write(`removed '${args[0]}'\n`);
}
