// shell_runner's settings: the manifest's `config:` (context.config) checked, with the defaults applied.
import { TABLES, tableOf } from './option-tables.ts';

export interface Settings {
  /** the whitelist: the exact names a caller may run */
  commands: readonly string[];
  maxArgs: number;
  maxArgLength: number;
  maxStdinBytes: number;
  /** cap on stdout and on stderr, each */
  maxOutputBytes: number;
  commandTimeoutMs: number;
  rejectShellMetacharacters: boolean;
}

/** A manifest whose `config:` this function cannot work with: the deployer's problem, not the caller's. */
export class ConfigInvalid extends Error {
  constructor(message: string) {
    super(`shell_runner config: ${message}`);
    this.name = 'ConfigInvalid';
  }
}

/** config key → [field, default, upper bound]; the bounds keep one call inside the container's memory and Linux's argv limits. */
const LIMITS = {
  max_args: ['maxArgs', 64, 4096],
  max_arg_length: ['maxArgLength', 4096, 131_072], // MAX_ARG_STRLEN
  max_stdin_bytes: ['maxStdinBytes', 65_536, 8 << 20],
  max_output_bytes: ['maxOutputBytes', 65_536, 8 << 20],
  command_timeout_ms: ['commandTimeoutMs', 10_000, 3_600_000],
} as const;
const KEYS = ['commands', 'reject_shell_metacharacters', ...Object.keys(LIMITS)];

/** A bare program name: no directory part, so only the fixed PATH decides which binary runs. */
const COMMAND_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

/**
 * Programs that run other programs, or interpret a language that can: whitelisting one would
 * whitelist everything. Not complete (no list is); it catches the usual mistakes, `env` first,
 * which the runtime image carries.
 */
export const RUNS_PROGRAMS = new Set([
  'env',
  'xargs',
  'find',
  'nice',
  'nohup',
  'timeout',
  'stdbuf',
  'chroot',
  'flock',
  'setsid',
  'taskset',
  'ionice',
  'unshare',
  'nsenter',
  'runuser',
  'su',
  'sudo',
  'watch',
  'script',
  'strace',
  'busybox',
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'node',
  'python',
  'python3',
  'perl',
  'awk',
  'gawk',
  'mawk',
  'sed',
  'tar',
  'make',
  'git',
  'vi',
  'less',
]);

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

export function parseSettings(config: unknown): Settings {
  if (!isPlainObject(config)) throw new ConfigInvalid('config must be a mapping');
  const unknown = Object.keys(config).filter((k) => !KEYS.includes(k));
  if (unknown.length)
    throw new ConfigInvalid(`unknown key(s) ${unknown.join(', ')}; known: ${KEYS.join(', ')}`);

  const { commands } = config;
  if (!Array.isArray(commands) || commands.length === 0)
    throw new ConfigInvalid('commands must be a non-empty list of program names (the whitelist)');
  for (const c of commands) {
    if (typeof c !== 'string' || !COMMAND_NAME.test(c))
      throw new ConfigInvalid(
        `commands: ${JSON.stringify(c)} is not a bare program name (letters, digits, . _ + -; no '/')`,
      );
    if (RUNS_PROGRAMS.has(c))
      throw new ConfigInvalid(
        `commands: '${c}' runs other programs, which would bypass the whitelist; it cannot be whitelisted`,
      );
    // Without a table of its options a program would take any option, including those that read
    // other files or follow links out: refused here, once, rather than letting every option through.
    if (!tableOf(c)) {
      throw new ConfigInvalid(
        `commands: '${c}' has no option table in shell_runner (option-tables.ts), so its options cannot be checked; whitelistable: ${Object.keys(TABLES).join(', ')}`,
      );
    }
  }

  const reject = config.reject_shell_metacharacters ?? true;
  if (typeof reject !== 'boolean')
    throw new ConfigInvalid('reject_shell_metacharacters must be true or false');

  const limits = {} as Record<(typeof LIMITS)[keyof typeof LIMITS][0], number>;
  for (const [key, [field, fallback, max]] of Object.entries(LIMITS)) {
    const value = config[key] ?? fallback;
    if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
      throw new ConfigInvalid(
        `${key} must be an integer from 1 to ${max} (got ${JSON.stringify(value)})`,
      );
    }
    limits[field] = value as number;
  }
  return {
    commands: Object.freeze([...new Set(commands as string[])]),
    rejectShellMetacharacters: reject,
    ...limits,
  };
}

const parsed = new WeakMap<object, Settings>();

/** context.config is one frozen object per container: check it once. */
export function settingsOf(config: unknown): Settings {
  if (!isPlainObject(config)) return parseSettings(config);
  let s = parsed.get(config);
  if (!s) {
    s = parseSettings(config);
    parsed.set(config, s);
  }
  return s;
}
