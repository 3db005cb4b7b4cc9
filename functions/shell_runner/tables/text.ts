// Option tables of the programs that transform lines of text: sort, uniq, cut and tr.
import type { Operand, Table } from '../options.ts';
import { InputRejected, shown } from '../rejection.ts';
import {
  FILE_LIST,
  flag,
  flags,
  info,
  mayTake,
  NAMED_FILE,
  no,
  NUMBER,
  SIZING,
  takes,
  TEXT,
  UNDOCUMENTED,
  words,
  WRITES,
} from './vocabulary.ts';

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

export const sort: Table = {
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
    sort: takes(words('general-numeric', 'human-numeric', 'month', 'numeric', 'random', 'version')),
    stable: '-s',
    'temporary-directory': '-T',
    unique: '-u',
    'version-sort': '-V',
    'zero-terminated': '-z',
  },
};

export const uniq: Table = {
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
};

export const cut: Table = {
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
};

export const tr: Table = {
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
};
