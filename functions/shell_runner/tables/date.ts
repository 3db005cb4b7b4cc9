// Option table of date: printing (never setting) the time, and reading a reference file.
import type { Table } from '../options.ts';
import { flag, flags, info, mayTake, NAMED_FILE, no, PATH, takes, words } from './vocabulary.ts';

export const date: Table = {
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
};
