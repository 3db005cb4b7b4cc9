// shell_runner's refusals: every rejected input is an InputRejected whose message starts with
// `rule <name>:`, so a caller (and a test) can tell which rule refused it.

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
  | 'operand_not_allowed'
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

/** A caller's value in a message: quoted, and short (an argument may be 4 KiB). */
export function shown(value: string, max = 60): string {
  const s = JSON.stringify(value.length > max ? value.slice(0, max) : value);
  return value.length > max ? `${s.slice(0, -1)}…" (${value.length} characters)` : s;
}
