// What every `titan` command module shares: the usage error (exit status 2), arity, stdin, output.

/** A mistake in the command line: reported with a pointer to `titan help`, exit status 2. */
export class UsageError extends Error {}

export async function readStdinBytes(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `--count` as a positive integer up to `max`, or `fallback` when absent. */
export function countOption(raw: string | undefined, fallback: number, max = 1000): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`--count must be an integer from 1 to ${max} (got ${raw})`);
  return n;
}

export const print = (value: unknown) =>
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

export function arity(cmd: string, rest: string[], names: string[]): void {
  if (rest.length !== names.length)
    throw new UsageError(
      `${cmd} takes ${names.map((n) => `<${n}>`).join(' ')} (got ${rest.length} arguments)`,
    );
}
