// The event a command sends (`-d JSON`, `-e JSON`, `-f FILE` or `-f -`), checked to be JSON first.
import { readFile } from 'node:fs/promises';
import type { Values } from './args.ts';
import { readStdinBytes, UsageError } from './usage.ts';

/** The event as JSON text, checked here so a typo never reaches the gateway. */
export async function eventBody(v: Values): Promise<string> {
  const given = (['data', 'event', 'file'] as const).filter((k) => v[k] !== undefined);
  if (given.length > 1)
    throw new UsageError(`give the event once (got ${given.map((k) => `--${k}`).join(' and ')})`);
  if (given.length === 0) return '';
  const from = given[0] === 'file' ? (v.file === '-' ? 'stdin' : v.file!) : `--${given[0]}`;
  const text =
    given[0] !== 'file'
      ? v[given[0]]!
      : v.file === '-'
        ? (await readStdinBytes()).toString('utf8')
        : await readEventFile(v.file!);
  try {
    JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the event from ${from} is not valid JSON: ${(err as Error).message}`);
  }
  return text;
}

async function readEventFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}
