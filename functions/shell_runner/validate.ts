// shell_runner's input rules that need no filesystem: shape, whitelist, bounds, metacharacters.
// Every rejection is an InputRejected whose message starts with `rule <name>:`.
import type { Settings } from './settings.ts';

export type Rule =
  | 'input_type'
  | 'unknown_key'
  | 'command_type'
  | 'command_not_allowed'
  | 'args_type'
  | 'too_many_args'
  | 'arg_too_long'
  | 'arg_nul'
  | 'shell_metacharacter'
  | 'option_not_allowed'
  | 'stdin_type'
  | 'stdin_too_large'
  | 'path_dotdot'
  | 'path_escape';

export class InputRejected extends Error {
  /** 400-499: the runtime answers 400 function_rejected and never retries it (the input is at fault) */
  readonly status = 400;
  readonly rule: Rule;
  constructor(rule: Rule, detail: string) {
    super(`rule ${rule}: ${detail}`);
    this.name = 'InputRejected';
    this.rule = rule;
  }
}

export interface Request {
  command: string;
  args: string[];
  stdin?: string;
}

const KEYS = ['command', 'args', 'stdin'];

/** A caller's value in a message: quoted, and short (an argument may be 4 KiB). */
export function shown(value: string, max = 60): string {
  const s = JSON.stringify(value.length > max ? value.slice(0, max) : value);
  return value.length > max ? `${s.slice(0, -1)}…" (${value.length} characters)` : s;
}

/**
 * Nothing here runs a shell (spawn with shell: false), so these characters reach the command as
 * plain bytes and would be harmless. A payload full of them is still an attack signal, and someone
 * may one day wrap this in a shell: refusing them is defense in depth (reject_shell_metacharacters).
 */
const SHELL_METACHARACTERS = /[;&|`$<>()\n\r]/;

/**
 * Options of whitelistable commands that run another program. GNU getopt takes any unambiguous
 * prefix of a long option (`--compress-prog=sh`), so prefixes are refused too.
 */
const RUNS_PROGRAM_OPTION: Record<string, string[]> = {
  sort: ['--compress-program'],
};

function checkOption(command: string, arg: string, n: number): void {
  const name = arg.split('=', 1)[0]!;
  if (!name.startsWith('--') || name.length < 3) return;
  const hit = RUNS_PROGRAM_OPTION[command]?.find((o) => o.startsWith(name));
  if (hit) throw new InputRejected('option_not_allowed', `argument ${n} ${shown(arg)} is ${command}'s ${hit}, which runs another program`);
}

/** Checks an invocation event against the rules and the settings; returns it normalised (args default to []). */
export function validateRequest(event: unknown, s: Settings): Request {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InputRejected('input_type', `the input must be an object { command, args?, stdin? } (got ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event})`);
  }
  const input = event as Record<string, unknown>;
  const unknown = Object.keys(input).filter((k) => !KEYS.includes(k));
  if (unknown.length) throw new InputRejected('unknown_key', `unknown input key(s) ${unknown.map((k) => shown(k)).join(', ')}; allowed: ${KEYS.join(', ')}`);

  const { command, args = [], stdin } = input;
  if (typeof command !== 'string') throw new InputRejected('command_type', `command must be a string naming a whitelisted program (got ${command === null ? 'null' : typeof command})`);
  // Exact name only: '/bin/ls', 'ls ' and 'ls; rm -rf /' are all not 'ls'.
  if (!s.commands.includes(command)) throw new InputRejected('command_not_allowed', `command ${shown(command)} is not whitelisted; allowed: ${s.commands.join(', ')}`);

  if (!Array.isArray(args)) throw new InputRejected('args_type', `args must be an array of strings (got ${args === null ? 'null' : typeof args})`);
  if (args.length > s.maxArgs) throw new InputRejected('too_many_args', `${args.length} arguments, at most ${s.maxArgs} (max_args)`);
  args.forEach((arg: unknown, i) => {
    const n = i + 1;
    if (typeof arg !== 'string') throw new InputRejected('args_type', `argument ${n} is ${arg === null ? 'null' : typeof arg}; every argument must be a string`);
    if (arg.length > s.maxArgLength) throw new InputRejected('arg_too_long', `argument ${n} has ${arg.length} characters, at most ${s.maxArgLength} (max_arg_length)`);
    if (arg.includes('\0')) throw new InputRejected('arg_nul', `argument ${n} contains a NUL character, which no program argument can hold`);
    if (s.rejectShellMetacharacters && SHELL_METACHARACTERS.test(arg)) {
      const ch = JSON.stringify(arg.match(SHELL_METACHARACTERS)![0]);
      throw new InputRejected('shell_metacharacter', `argument ${n} ${shown(arg)} contains the shell metacharacter ${ch}; none of ; & | \` $ < > ( ) or a line break is accepted`);
    }
    checkOption(command, arg, n);
  });

  if (stdin !== undefined) {
    if (typeof stdin !== 'string') throw new InputRejected('stdin_type', `stdin must be a string (got ${stdin === null ? 'null' : typeof stdin})`);
    const bytes = Buffer.byteLength(stdin);
    if (bytes > s.maxStdinBytes) throw new InputRejected('stdin_too_large', `stdin is ${bytes} bytes, at most ${s.maxStdinBytes} (max_stdin_bytes)`);
  }
  return { command, args: args as string[], ...(stdin !== undefined ? { stdin: stdin as string } : {}) };
}
