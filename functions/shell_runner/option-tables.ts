// The options each whitelistable program may take: every option the runtime image's program has
// (GNU coreutils 9.1 and grep 3.8, as in node:20-bookworm-slim), each allowed with what its value may
// be, or refused with the reason. The integration test checks these against the programs themselves.
// One file a family in tables/ (the vocabulary they share in tables/vocabulary.ts); this file lists them.
import type { Table } from './options.ts';
import { date } from './tables/date.ts';
import { ls, stat } from './tables/files.ts';
import { grep } from './tables/grep.ts';
import { cat, head, tail, wc } from './tables/readers.ts';
import { cut, sort, tr, uniq } from './tables/text.ts';

export const TABLES: Readonly<Record<string, Table>> = {
  ls,
  cat,
  wc,
  head,
  tail,
  grep,
  date,
  sort,
  uniq,
  cut,
  tr,
  stat,
  echo: { noOptions: true, opensNoFiles: true, short: {}, long: {} },
  true: { noOptions: true, opensNoFiles: true, short: {}, long: {} },
  false: { noOptions: true, opensNoFiles: true, short: {}, long: {} },
};

/** The table for a whitelisted name, if shell_runner has one. */
export const tableOf = (command: string): Table | undefined =>
  Object.hasOwn(TABLES, command) ? TABLES[command] : undefined;
