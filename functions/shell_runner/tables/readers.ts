// Option tables of the programs that print a file's content or counts: cat, wc, head and tail.
import type { Table } from '../options.ts';
import { refuse } from '../options.ts';
import {
  FILE_LIST,
  flag,
  flags,
  FOLLOWS_FOREVER,
  info,
  no,
  NUMBER,
  takes,
  UNDOCUMENTED,
} from './vocabulary.ts';

/** -NUM and +NUM: tail's obsolete first argument, read before getopt when at most one file follows. */
const TAIL_OBSOLETE = /^([-+])(\d*)([bcl]?)(f?)$/;

function tailLeading(args: readonly string[], command: string): number {
  const [first, second] = args;
  // coreutils' parse_obsolete_option: one argument, or one more that is not an option, or `--` and one.
  const fits =
    args.length === 1 ||
    (args.length === 2 && !(second!.startsWith('-') && second!.length > 1)) ||
    ((args.length === 2 || args.length === 3) && second === '--');
  const m = first === undefined ? null : TAIL_OBSOLETE.exec(first);
  if (!fits || !m || first === '-' || first === '-c') return 0;
  if (m[4])
    throw refuse(
      1,
      first!,
      `${command}'s -f (here in its obsolete [+-]NUM[bcl]f form) is not allowed: it ${FOLLOWS_FOREVER}`,
    );
  return 1;
}

/** head's obsolete -NUM[bcklmqvz] first argument, read before getopt (anything else after the digits is an error). */
function headLeading(args: readonly string[], command: string): number {
  const first = args[0];
  if (first === undefined || !/^-\d/.test(first)) return 0;
  if (!/^-\d+[bcklmqvz]*$/.test(first))
    throw refuse(
      1,
      first,
      `${command}'s obsolete -NUM form takes only the letters b c k l m q v z after the digits`,
    );
  return 1;
}

export const cat: Table = {
  short: flags('benstuvAET'),
  long: {
    ...info(),
    number: '-n',
    'number-nonblank': '-b',
    'show-all': '-A',
    'show-ends': '-E',
    'show-nonprinting': '-v',
    'show-tabs': '-T',
    'squeeze-blank': '-s',
  },
};

export const wc: Table = {
  short: flags('clmwL'),
  long: {
    ...info(),
    bytes: '-c',
    chars: '-m',
    debug: flag(),
    'files0-from': no(FILE_LIST, 'required'),
    lines: '-l',
    'max-line-length': '-L',
    words: '-w',
  },
};

export const head: Table = {
  short: { ...flags('qvz'), c: takes(NUMBER), n: takes(NUMBER) },
  long: {
    ...info(),
    '-presume-input-pipe': no(UNDOCUMENTED),
    bytes: '-c',
    lines: '-n',
    quiet: '-q',
    silent: '-q',
    verbose: '-v',
    'zero-terminated': '-z',
  },
  leading: headLeading,
};

export const tail: Table = {
  short: {
    ...flags('qvz'),
    c: takes(NUMBER),
    n: takes(NUMBER),
    f: no(FOLLOWS_FOREVER),
    F: no(FOLLOWS_FOREVER),
    s: no(`only matters while following, which ${FOLLOWS_FOREVER}`, 'required'),
  },
  long: {
    ...info(),
    '-disable-inotify': no(UNDOCUMENTED),
    '-presume-input-pipe': no(UNDOCUMENTED),
    bytes: '-c',
    follow: no(FOLLOWS_FOREVER, 'optional'),
    lines: '-n',
    'max-unchanged-stats': no(FOLLOWS_FOREVER, 'required'),
    pid: no(FOLLOWS_FOREVER, 'required'),
    quiet: '-q',
    retry: no(FOLLOWS_FOREVER),
    silent: '-q',
    'sleep-interval': '-s',
    verbose: '-v',
    'zero-terminated': '-z',
  },
  leading: tailLeading,
};
