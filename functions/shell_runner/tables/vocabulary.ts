// The words the option tables are written in: option and value kinds, and refusal reasons.
import type { LongEntry, Option, Value } from '../options.ts';

// Fresh objects each time: two long names are the same option (for GNU's prefix rule) only when
// they are one object, through an alias.
export const flag = (): Option => ({ arg: 'none' });
export const takes = (value: Value): Option => ({ arg: 'required', value });
export const mayTake = (value: Value): Option => ({ arg: 'optional', value });
export const no = (refused: string, arg: Option['arg'] = 'none'): Option => ({ arg, refused });
export const flags = (chars: string): Record<string, Option> =>
  Object.fromEntries([...chars].map((c) => [c, flag()]));
/** --help and --version: harmless everywhere. */
export const info = (): Record<string, LongEntry> => ({ help: flag(), version: flag() });

export const NUMBER: Value = { kind: 'number' };
export const TEXT: Value = { kind: 'text' };
export const PATH: Value = { kind: 'path' };
export const words = (...list: string[]): Value => ({ kind: 'word', words: list });
export const WHEN = words('always', 'yes', 'force', 'never', 'no', 'none', 'auto', 'tty', 'if-tty');

export const FILE_LIST =
  'reads the names of the files to open from a file or from stdin, past the path rules';
export const NAMED_FILE = 'reads a file named in its value';
export const FOLLOWS_LINKS =
  'follows symbolic links found inside the directories, out of the allowed ones (use -r, which skips them)';
export const FOLLOWS_FOREVER = 'keeps reading the file until the time limit kills it';
export const WRITES = 'writes files';
export const UNDOCUMENTED = 'is undocumented';
export const SIZING = "sizes sort's memory or threads, which the container's limits decide";
