// shell_runner's input rules that need no filesystem: shape, whitelist, bounds, metacharacters, and
// the options each command may take (options.ts, option-tables.ts).
// Every rejection is an InputRejected whose message starts with `rule <name>:`.
import { tableOf } from './option-tables.ts';
import { readOptions } from './options.ts';
import { InputRejected, shown } from './rejection.ts';
import type { Settings } from './settings.ts';

export { InputRejected, shown, type Rule } from './rejection.ts';

export interface Request {
  command: string;
  args: string[];
  stdin?: string;
}

const KEYS = ['command', 'args', 'stdin'];

/**
 * Nothing here runs a shell (spawn with shell: false), so these characters reach the command as
 * plain bytes and would be harmless. A payload full of them is still an attack signal, and someone
 * may one day wrap this in a shell: refusing them is defense in depth (reject_shell_metacharacters).
 */
const SHELL_METACHARACTERS = /[;&|`$<>()\n\r]/;

/** Checks an invocation event against the rules and the settings; returns it normalised (args default to []). */
export function validateRequest(event: unknown, s: Settings): Request {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InputRejected(
      'input_type',
      `the input must be an object { command, args?, stdin? } (got ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event})`,
    );
  }
  const input = event as Record<string, unknown>;
  const unknown = Object.keys(input).filter((k) => !KEYS.includes(k));
  if (unknown.length)
    throw new InputRejected(
      'unknown_key',
      `unknown input key(s) ${unknown.map((k) => shown(k)).join(', ')}; allowed: ${KEYS.join(', ')}`,
    );

  const { command, args = [], stdin } = input;
  if (typeof command !== 'string')
    throw new InputRejected(
      'command_type',
      `command must be a string naming a whitelisted program (got ${command === null ? 'null' : typeof command})`,
    );
  // Exact name only: '/bin/ls', 'ls ' and 'ls; rm -rf /' are all not 'ls'.
  if (!s.commands.includes(command))
    throw new InputRejected(
      'command_not_allowed',
      `command ${shown(command)} is not whitelisted; allowed: ${s.commands.join(', ')}`,
    );

  if (!Array.isArray(args))
    throw new InputRejected(
      'args_type',
      `args must be an array of strings (got ${args === null ? 'null' : typeof args})`,
    );
  if (args.length > s.maxArgs)
    throw new InputRejected(
      'too_many_args',
      `${args.length} arguments, at most ${s.maxArgs} (max_args)`,
    );
  args.forEach((arg: unknown, i) => {
    const n = i + 1;
    if (typeof arg !== 'string')
      throw new InputRejected(
        'args_type',
        `argument ${n} is ${arg === null ? 'null' : typeof arg}; every argument must be a string`,
      );
    if (arg.length > s.maxArgLength)
      throw new InputRejected(
        'arg_too_long',
        `argument ${n} has ${arg.length} characters, at most ${s.maxArgLength} (max_arg_length)`,
      );
    if (arg.includes('\0'))
      throw new InputRejected(
        'arg_nul',
        `argument ${n} contains a NUL character, which no program argument can hold`,
      );
    if (s.rejectShellMetacharacters && SHELL_METACHARACTERS.test(arg)) {
      const ch = JSON.stringify(arg.match(SHELL_METACHARACTERS)![0]);
      throw new InputRejected(
        'shell_metacharacter',
        `argument ${n} ${shown(arg)} contains the shell metacharacter ${ch}; none of ; & | \` $ < > ( ) or a line break is accepted`,
      );
    }
  });
  // Settings allow only commands that have a table; a missing one refuses every option, never none.
  const table = tableOf(command);
  if (!table)
    throw new InputRejected(
      'option_not_allowed',
      `shell_runner has no option table for ${shown(command)}`,
    );
  readOptions(table, command, args as string[]);

  if (stdin !== undefined) {
    if (typeof stdin !== 'string')
      throw new InputRejected(
        'stdin_type',
        `stdin must be a string (got ${stdin === null ? 'null' : typeof stdin})`,
      );
    const bytes = Buffer.byteLength(stdin);
    if (bytes > s.maxStdinBytes)
      throw new InputRejected(
        'stdin_too_large',
        `stdin is ${bytes} bytes, at most ${s.maxStdinBytes} (max_stdin_bytes)`,
      );
  }
  return {
    command,
    args: args as string[],
    ...(stdin !== undefined ? { stdin: stdin as string } : {}),
  };
}
