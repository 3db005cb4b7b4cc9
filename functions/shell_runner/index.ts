// Built-in function shell_runner: runs one whitelisted command, never through a shell, on the files
// of the allowed directories. Input { command, args?, stdin? }; output { stdout, stderr, exit_code,
// signal, truncated, timed_out }. Rules in validate.ts, options.ts (with option-tables.ts) and
// paths.ts, settings in settings.ts.
import { tableOf } from './option-tables.ts';
import { checkPaths, realDirectories } from './paths.ts';
import { resolveBinary, runCommand, type RunResult } from './run.ts';
import { ConfigInvalid, settingsOf } from './settings.ts';
import { validateRequest } from './validate.ts';

export interface Context {
  /** the manifest's `config:` */
  config?: unknown;
  /** epoch ms after which the invocation is cut off */
  deadline?: number;
}

/** Time kept between the command's limit and the invocation's, to kill it and answer before the gateway gives up. */
export const DEADLINE_MARGIN_MS = 500;

/**
 * The directories permissions.fs.allow mounted, as the runtime tells the container (TITAN_FS_ALLOW,
 * a JSON list of container paths): the manifest's relative paths mean nothing in here.
 */
export function allowedFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  let dirs: unknown;
  try {
    dirs = JSON.parse(env.TITAN_FS_ALLOW ?? '[]');
  } catch {
    dirs = undefined;
  }
  if (!Array.isArray(dirs) || !dirs.every((d) => typeof d === 'string'))
    throw new ConfigInvalid(`TITAN_FS_ALLOW is not a JSON list of paths (${env.TITAN_FS_ALLOW})`);
  return dirs;
}

export async function runShell(
  event: unknown,
  context: Context,
  allowedDirs: readonly string[],
  now = Date.now(),
): Promise<RunResult> {
  const settings = settingsOf(context.config ?? {});
  const allowed = realDirectories(allowedDirs);
  if (allowed.length === 0) {
    throw new ConfigInvalid(
      `no allowed directory is mounted (got ${JSON.stringify(allowedDirs)}); list one in permissions.fs.allow`,
    );
  }
  const req = validateRequest(event, settings);
  const cwd = allowed[0]!;
  // echo, tr, true and false open no file whatever their arguments say: `echo /` is text, not a path.
  if (!tableOf(req.command)?.opensNoFiles) checkPaths(req.args, cwd, allowed);

  const binary = resolveBinary(req.command);
  if (!binary)
    throw new ConfigInvalid(
      `'${req.command}' is whitelisted but not installed in the image (looked in /usr/local/bin, /usr/bin, /bin)`,
    );
  const left =
    context.deadline === undefined ? Infinity : context.deadline - now - DEADLINE_MARGIN_MS;
  const timeoutMs = Math.max(1, Math.min(settings.commandTimeoutMs, left));
  return runCommand({
    binary,
    args: req.args,
    stdin: req.stdin,
    cwd,
    timeoutMs,
    maxOutputBytes: settings.maxOutputBytes,
  });
}

export default async function handler(event: unknown, context: Context): Promise<RunResult> {
  return runShell(event, context, allowedFromEnv());
}
