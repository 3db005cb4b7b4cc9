// The options each whitelistable program may take: every option the runtime image's program has
// (GNU coreutils 9.1 and grep 3.8, as in node:20-bookworm-slim), each allowed with what its value may
// be, or refused with the reason. The integration test checks these against the programs themselves.
import type { LongEntry, Operand, Option, Table, Value } from './options.ts';
import { refuse } from './options.ts';
import { InputRejected, shown } from './rejection.ts';

// Fresh objects each time: two long names are the same option (for GNU's prefix rule) only when
// they are one object, through an alias.
const flag = (): Option => ({ arg: 'none' });
const takes = (value: Value): Option => ({ arg: 'required', value });
const mayTake = (value: Value): Option => ({ arg: 'optional', value });
const no = (refused: string, arg: Option['arg'] = 'none'): Option => ({ arg, refused });
const flags = (chars: string): Record<string, Option> =>
  Object.fromEntries([...chars].map((c) => [c, flag()]));
/** --help and --version: harmless everywhere. */
const info = (): Record<string, LongEntry> => ({ help: flag(), version: flag() });

const NUMBER: Value = { kind: 'number' };
const TEXT: Value = { kind: 'text' };
const PATH: Value = { kind: 'path' };
const words = (...list: string[]): Value => ({ kind: 'word', words: list });
const WHEN = words('always', 'yes', 'force', 'never', 'no', 'none', 'auto', 'tty', 'if-tty');

const FILE_LIST =
  'reads the names of the files to open from a file or from stdin, past the path rules';
const NAMED_FILE = 'reads a file named in its value';
const FOLLOWS_LINKS =
  'follows symbolic links found inside the directories, out of the allowed ones (use -r, which skips them)';
const FOLLOWS_FOREVER = 'keeps reading the file until the time limit kills it';
const WRITES = 'writes files';
const UNDOCUMENTED = 'is undocumented';
const SIZING = "sizes sort's memory or threads, which the container's limits decide";

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

/** uniq reads `+N` as --skip-chars=N (before `--`) and writes its output to a second file operand. */
function uniqOperands(operands: readonly Operand[], command: string): void {
  const skipChars = (a: string) => /^\+\d+$/.test(a) && BigInt(a.slice(1)) < 2n ** 64n;
  const files = operands.filter((o) => o.afterEnd || !skipChars(o.arg));
  const output = files[1];
  if (output) {
    const why = `${command} writes its output to a second file operand; give one input file (or stdin) and read stdout`;
    throw new InputRejected(
      'operand_not_allowed',
      `argument ${output.n} ${shown(output.arg)}: ${why}`,
    );
  }
}

export const TABLES: Readonly<Record<string, Table>> = {
  ls: {
    short: {
      ...flags('1abcdfghiklmnopqrstuvxABCDFGHNQRSUXZ'),
      w: takes(NUMBER),
      I: takes(TEXT),
      T: takes(NUMBER),
      L: no(
        'shows and (with -R) enters what every symbolic link points to, out of the allowed directories (use -H for the arguments)',
      ),
    },
    long: {
      ...info(),
      all: '-a',
      'almost-all': '-A',
      author: flag(),
      'block-size': takes(TEXT),
      classify: mayTake(WHEN),
      color: mayTake(WHEN),
      context: '-Z',
      dereference: '-L',
      'dereference-command-line': '-H',
      'dereference-command-line-symlink-to-dir': flag(),
      directory: '-d',
      dired: '-D',
      escape: '-b',
      'file-type': flag(),
      format: takes(
        words('verbose', 'long', 'commas', 'horizontal', 'across', 'vertical', 'single-column'),
      ),
      'full-time': flag(),
      'group-directories-first': flag(),
      hide: takes(TEXT),
      'hide-control-chars': '-q',
      'human-readable': '-h',
      hyperlink: mayTake(WHEN),
      ignore: '-I',
      'ignore-backups': '-B',
      'indicator-style': takes(words('none', 'slash', 'file-type', 'classify')),
      inode: '-i',
      kibibytes: '-k',
      literal: '-N',
      'no-group': '-G',
      'numeric-uid-gid': '-n',
      'quote-name': '-Q',
      'quoting-style': takes(
        words(
          'literal',
          'shell',
          'shell-always',
          'shell-escape',
          'shell-escape-always',
          'c',
          'c-maybe',
          'escape',
          'locale',
          'clocale',
        ),
      ),
      recursive: '-R',
      reverse: '-r',
      'show-control-chars': flag(),
      si: flag(),
      size: '-s',
      sort: takes(words('none', 'time', 'size', 'extension', 'version', 'width')),
      tabsize: '-T',
      time: takes(words('atime', 'access', 'use', 'ctime', 'status', 'birth', 'creation')),
      'time-style': takes(TEXT),
      width: '-w',
      zero: flag(),
    },
  },
  cat: {
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
  },
  wc: {
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
  },
  head: {
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
  },
  tail: {
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
  },
  grep: {
    short: {
      ...flags('0123456789abchilnoqrsuvwxyzEFGHILPTUVZ'),
      A: takes(NUMBER),
      B: takes(NUMBER),
      C: takes(NUMBER),
      m: takes(NUMBER),
      e: takes(TEXT),
      d: takes(words('read', 'recurse', 'skip')),
      D: takes(words('read', 'skip')),
      f: no(`${NAMED_FILE} (its patterns)`, 'required'),
      R: no(FOLLOWS_LINKS),
      X: no(UNDOCUMENTED, 'required'),
    },
    long: {
      ...info(),
      'after-context': '-A',
      'basic-regexp': '-G',
      'before-context': '-B',
      binary: '-U',
      'binary-files': takes(words('binary', 'text', 'without-match')),
      'byte-offset': '-b',
      color: mayTake(WHEN),
      colour: '--color',
      context: '-C',
      count: '-c',
      'dereference-recursive': '-R',
      devices: '-D',
      directories: '-d',
      exclude: takes(TEXT),
      'exclude-dir': takes(TEXT),
      'exclude-from': no(`${NAMED_FILE} (its patterns)`, 'required'),
      'extended-regexp': '-E',
      file: '-f',
      'files-with-matches': '-l',
      'files-without-match': '-L',
      'fixed-regexp': '-F',
      'fixed-strings': '-F',
      'group-separator': takes(TEXT),
      'ignore-case': '-i',
      include: takes(TEXT),
      'initial-tab': '-T',
      'invert-match': '-v',
      label: takes(TEXT),
      'line-buffered': flag(),
      'line-number': '-n',
      'line-regexp': '-x',
      'max-count': '-m',
      'no-filename': '-h',
      'no-group-separator': flag(),
      'no-ignore-case': flag(),
      'no-messages': '-s',
      null: '-Z',
      'null-data': '-z',
      'only-matching': '-o',
      'perl-regexp': '-P',
      quiet: '-q',
      recursive: '-r',
      regexp: '-e',
      silent: '-q',
      text: '-a',
      'unix-byte-offsets': '-u',
      'with-filename': '-H',
      'word-regexp': '-w',
    },
  },
  date: {
    short: {
      ...flags('uR'),
      I: mayTake(words('date', 'hours', 'minutes', 'seconds', 'ns')),
      r: takes(PATH),
      f: no(`${NAMED_FILE} (a date on each line, echoing the lines it cannot read)`, 'required'),
      // parse_datetime reads a leading TZ="..." as a time zone, which tzset loads as a file.
      d: takes({
        kind: 'text',
        refuse: { pattern: /TZ=/i, why: 'names a time zone, which date loads from a file' },
      }),
      s: no('sets the system clock', 'required'),
    },
    long: {
      ...info(),
      date: '-d',
      debug: flag(),
      file: '-f',
      'iso-8601': '-I',
      reference: '-r',
      resolution: flag(),
      'rfc-2822': '-R',
      'rfc-3339': takes(words('date', 'seconds', 'ns')),
      'rfc-822': '-R',
      'rfc-email': '-R',
      set: '-s',
      uct: '-u',
      universal: '-u',
      utc: '-u',
    },
  },
  sort: {
    short: {
      ...flags('bcdfghimnrsuzCMRV'),
      k: takes(TEXT),
      t: takes(TEXT),
      o: no(WRITES, 'required'),
      T: no(`${WRITES} (its temporary files) into the directory named`, 'required'),
      S: no(SIZING, 'required'),
      y: no(UNDOCUMENTED, 'optional'), // -y takes the next argument only when it is digits
    },
    long: {
      ...info(),
      'batch-size': no(SIZING, 'required'),
      'buffer-size': '-S',
      check: mayTake(words('diagnose-first', 'quiet', 'silent')),
      'compress-program': no('runs another program', 'required'),
      debug: flag(),
      'dictionary-order': '-d',
      'field-separator': '-t',
      'files0-from': no(FILE_LIST, 'required'),
      'general-numeric-sort': '-g',
      'human-numeric-sort': '-h',
      'ignore-case': '-f',
      'ignore-leading-blanks': '-b',
      'ignore-nonprinting': '-i',
      key: '-k',
      merge: '-m',
      'month-sort': '-M',
      'numeric-sort': '-n',
      output: '-o',
      parallel: no(SIZING, 'required'),
      'random-sort': '-R',
      'random-source': no(NAMED_FILE, 'required'),
      reverse: '-r',
      sort: takes(
        words('general-numeric', 'human-numeric', 'month', 'numeric', 'random', 'version'),
      ),
      stable: '-s',
      'temporary-directory': '-T',
      unique: '-u',
      'version-sort': '-V',
      'zero-terminated': '-z',
    },
  },
  uniq: {
    short: { ...flags('0123456789cdiuzD'), f: takes(NUMBER), s: takes(NUMBER), w: takes(NUMBER) },
    long: {
      ...info(),
      'all-repeated': mayTake(words('none', 'prepend', 'separate')),
      'check-chars': '-w',
      count: '-c',
      group: mayTake(words('separate', 'prepend', 'append', 'both')),
      'ignore-case': '-i',
      repeated: '-d',
      'skip-chars': '-s',
      'skip-fields': '-f',
      unique: '-u',
      'zero-terminated': '-z',
    },
    operands: uniqOperands,
  },
  cut: {
    short: { ...flags('nsz'), b: takes(TEXT), c: takes(TEXT), d: takes(TEXT), f: takes(TEXT) },
    long: {
      ...info(),
      bytes: '-b',
      characters: '-c',
      complement: flag(),
      delimiter: '-d',
      fields: '-f',
      'only-delimited': '-s',
      'output-delimiter': takes(TEXT),
      'zero-terminated': '-z',
    },
  },
  tr: {
    short: { ...flags('cdstC'), A: no(UNDOCUMENTED) },
    long: {
      ...info(),
      complement: '-c',
      delete: '-d',
      'squeeze-repeats': '-s',
      'truncate-set1': '-t',
    },
    optionsEndAtOperand: true,
    opensNoFiles: true,
  },
  stat: {
    short: { ...flags('ftL'), c: takes(TEXT) },
    long: {
      ...info(),
      cached: takes(words('default', 'never', 'always')),
      dereference: '-L',
      'file-system': '-f',
      format: '-c',
      printf: takes(TEXT),
      terse: '-t',
    },
  },
  echo: { noOptions: true, opensNoFiles: true, short: {}, long: {} },
  true: { noOptions: true, opensNoFiles: true, short: {}, long: {} },
  false: { noOptions: true, opensNoFiles: true, short: {}, long: {} },
};

/** The table for a whitelisted name, if shell_runner has one. */
export const tableOf = (command: string): Table | undefined =>
  Object.hasOwn(TABLES, command) ? TABLES[command] : undefined;
