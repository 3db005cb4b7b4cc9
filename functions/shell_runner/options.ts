// shell_runner's option rule: each whitelistable program has a table of the options it may take
// (option-tables.ts), and its arguments are read here the way GNU getopt_long reads them, so that
// what this file takes for an option, a value or an operand is what the program will. An option not
// in the table, refused by it, or given a value it does not accept is refused (`option_not_allowed`).
import { InputRejected, shown } from './rejection.ts';

/** What an option's value may be. */
export type Value =
  /** a count or a size: digits with an optional sign and unit suffix (`5`, `-5`, `+2`, `10K`) */
  | { kind: 'number' }
  /** one of a fixed list, spelled out (the programs also take abbreviations; these are refused) */
  | { kind: 'word'; words: readonly string[] }
  /** a pattern, format, separator, glob or field list; `refuse` names a form the program reads a file from */
  | { kind: 'text'; refuse?: { pattern: RegExp; why: string } }
  /** a file the program opens: the path rules (paths.ts) check it as they check every argument, including values after `=` and inside a short-option cluster */
  | { kind: 'path' };

export type Arg = 'none' | 'required' | 'optional';

export interface Option {
  arg: Arg;
  /** what a value must be ('required' and 'optional' options) */
  value?: Value;
  /** why the option is refused: set for every option the program has that a caller may not use */
  refused?: string;
}

/** A long option: its own Option, or the same option as a short one (`-f`) or another long one (`--color`). */
export type LongEntry = Option | `-${string}`;

export interface Operand {
  arg: string;
  /** 1-based argument number, for messages */
  n: number;
  /** after `--`: an operand whatever it looks like */
  afterEnd: boolean;
}

export interface Table {
  /** the program reads no options: every argument is text to print (echo) or ignored (true, false) */
  noOptions?: true;
  /** the program never opens a file named in its arguments (echo, tr, true, false): the path rules skip it */
  opensNoFiles?: true;
  short: Record<string, Option>;
  /**
   * Every long option the program knows, allowed or refused: GNU getopt takes any unambiguous prefix,
   * and an exact name wins over a longer one (`grep --file` is not `--files-with-matches`), so a
   * prefix resolves here as in the program only when all of them are known.
   */
  long: Record<string, LongEntry>;
  /** getopt's '+' mode (tr): options end at the first operand instead of being taken from anywhere */
  optionsEndAtOperand?: true;
  /** how many leading arguments the program reads itself before getopt (head's and tail's obsolete `-NUM`); throws for a refused one */
  leading?: (args: readonly string[], command: string) => number;
  /** checks the operands (uniq: one file, as a second one is written) */
  operands?: (operands: readonly Operand[], command: string) => void;
}

const NUMBER = /^[+-]?\d+[A-Za-z]{0,3}$/;

/** An option_not_allowed refusal about argument `n`. */
export function refuse(n: number, arg: string, detail: string): InputRejected {
  return new InputRejected('option_not_allowed', `argument ${n} ${shown(arg)}: ${detail}`);
}

/** The Option a long name stands for, following aliases. */
export function longOption(t: Table, name: string): Option {
  let e = t.long[name];
  for (let hops = 0; typeof e === 'string' && hops < 4; hops++)
    e = e.startsWith('--') ? t.long[e.slice(2)] : t.short[e.slice(1)];
  if (typeof e !== 'object') throw new Error(`option table: --${name} is an alias of nothing`);
  return e;
}

/** GNU's reading of `--name`: an exact name, else the one option all names starting with it stand for. */
function resolveLong(
  t: Table,
  name: string,
): { name: string; option: Option } | { candidates: string[] } {
  if (Object.hasOwn(t.long, name)) return { name, option: longOption(t, name) };
  const hits = Object.keys(t.long).filter((k) => k.startsWith(name));
  const first = hits[0] === undefined ? undefined : longOption(t, hits[0]);
  // glibc takes the first match when every match is the same option (same value, same argument).
  if (first && hits.every((h) => longOption(t, h) === first))
    return { name: hits[0]!, option: first };
  return { candidates: hits };
}

/** The options a caller may use, for a refusal's message. */
export function allowedSummary(t: Table): string {
  const short = Object.keys(t.short)
    .filter((c) => !t.short[c]!.refused)
    .sort();
  const longOnly = Object.keys(t.long).filter(
    (k) => typeof t.long[k] === 'object' && !longOption(t, k).refused,
  );
  return (
    [short.map((c) => `-${c}`).join(' '), longOnly.map((k) => `--${k}`).join(' ')]
      .filter(Boolean)
      .join(' and ') || 'no option'
  );
}

function checkValue(
  label: string,
  v: Value | undefined,
  value: string,
  n: number,
  arg: string,
): void {
  if (!v) return;
  if (v.kind === 'number' && !NUMBER.test(value))
    throw refuse(
      n,
      arg,
      `${label} takes a number (digits, an optional sign and unit suffix), not ${shown(value)}`,
    );
  if (v.kind === 'word' && !v.words.includes(value))
    throw refuse(n, arg, `${label} takes one of ${v.words.join(', ')}, not ${shown(value)}`);
  if (v.kind === 'text' && v.refuse?.pattern.test(value))
    throw refuse(n, arg, `${label} with ${shown(value)} ${v.refuse.why}`);
}

/**
 * Reads `args` as `command`'s getopt_long does (arguments permuted: an option after an operand is
 * still an option, until `--`; POSIXLY_CORRECT is never set) and returns the operands. Throws
 * option_not_allowed at the first option the table does not allow.
 */
export function readOptions(t: Table, command: string, args: readonly string[]): Operand[] {
  if (t.noOptions) return args.map((arg, i) => ({ arg, n: i + 1, afterEnd: false }));
  const operands: Operand[] = [];
  const summary = () => `${command} may take ${allowedSummary(t)}`;
  let i = t.leading?.(args, command) ?? 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    const n = i + 1;
    if (arg === '--') {
      operands.push(...args.slice(i + 1).map((a, k) => ({ arg: a, n: n + 1 + k, afterEnd: true })));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const spelled = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const found = resolveLong(t, spelled);
      if ('candidates' in found) {
        if (found.candidates.length === 0)
          throw refuse(n, arg, `--${spelled} is not an option ${command} knows; ${summary()}`);
        const some =
          found.candidates
            .slice(0, 6)
            .map((c) => `--${c}`)
            .join(', ') + (found.candidates.length > 6 ? ', …' : '');
        throw refuse(
          n,
          arg,
          `--${spelled} is ambiguous for ${command} (${some}); spell the option out`,
        );
      }
      const { name, option } = found;
      const label = `${command}'s --${name}${name === spelled ? '' : ` (which --${spelled} abbreviates)`}`;
      if (option.refused) throw refuse(n, arg, `${label} is not allowed: it ${option.refused}`);
      const inline = eq === -1 ? undefined : arg.slice(eq + 1);
      if (option.arg === 'none' && inline !== undefined)
        throw refuse(n, arg, `${label} takes no value`);
      if (option.arg === 'required') {
        const value = inline ?? args[++i];
        if (value === undefined) throw refuse(n, arg, `${label} needs a value`);
        checkValue(label, option.value, value, n, arg);
      } else if (option.arg === 'optional' && inline !== undefined)
        checkValue(label, option.value, inline, n, arg);
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') {
      // A cluster: -abc is -a -b -c; an option taking a value takes the rest of the cluster, or else the next argument.
      for (let j = 1; j < arg.length; j++) {
        const c = arg[j]!;
        const option = Object.hasOwn(t.short, c) ? t.short[c]! : undefined;
        if (!option) throw refuse(n, arg, `-${c} is not an option ${command} knows; ${summary()}`);
        const label = `${command}'s -${c}`;
        if (option.refused) throw refuse(n, arg, `${label} is not allowed: it ${option.refused}`);
        if (option.arg === 'none') continue;
        const rest = arg.slice(j + 1);
        if (option.arg === 'required') {
          const value = rest !== '' ? rest : args[++i];
          if (value === undefined) throw refuse(n, arg, `${label} needs a value`);
          checkValue(label, option.value, value, n, arg);
        } else if (rest !== '') checkValue(label, option.value, rest, n, arg);
        break;
      }
      continue;
    }
    operands.push({ arg, n, afterEnd: false });
    if (t.optionsEndAtOperand) {
      operands.push(...args.slice(i + 1).map((a, k) => ({ arg: a, n: n + 1 + k, afterEnd: true })));
      break;
    }
  }
  t.operands?.(operands, command);
  return operands;
}
