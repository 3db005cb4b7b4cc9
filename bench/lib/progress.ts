// Progress on stderr while a run is long: one line per step, rewritten in place on a terminal.

const tty = process.stderr.isTTY === true;
let open = false;

/** Show what is running now; on a terminal the line is replaced by the next one. */
export function progress(text: string): void {
  if (tty) {
    process.stderr.write(`\r\x1b[2K${text}`);
    open = true;
  } else process.stderr.write(`${text}\n`);
}

/** A line that stays (a scenario starting, a warning). */
export function note(text: string): void {
  if (open) process.stderr.write('\r\x1b[2K');
  open = false;
  process.stderr.write(`${text}\n`);
}
