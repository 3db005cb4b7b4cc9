// `titan secret set|ls|rm`: secrets through the gateway's admin API. A value is read from stdin or
// a file, never from the command line (where `ps` and shell history would show it), and never printed.
import { readFile } from 'node:fs/promises';
import type { TitanClient } from '../client.ts';
import { readStdinBytes, UsageError } from './usage.ts';

export async function secretCommand(
  client: TitanClient,
  args: string[],
  opts: { file?: string },
): Promise<void> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'set': {
      if (rest.length !== 1)
        throw new UsageError(`secret set takes one secret name (got ${rest.length} arguments)`);
      const value = await readValue(opts.file);
      const created = await client.setSecret(rest[0]!, value);
      process.stderr.write(
        `secret '${rest[0]}' ${created ? 'created' : 'updated'} (${value.length} bytes); functions naming it roll to the new value\n`,
      );
      return;
    }
    case 'ls':
    case 'list': {
      if (rest.length) throw new UsageError('secret ls takes no arguments');
      const secrets = await client.listSecrets();
      const width = Math.max(4, ...secrets.map((s) => s.name.length));
      process.stdout.write(
        `${'NAME'.padEnd(width)}  UPDATED\n${secrets.map((s) => `${s.name.padEnd(width)}  ${s.updated_at}\n`).join('')}`,
      );
      return;
    }
    case 'rm':
    case 'delete': {
      if (rest.length !== 1)
        throw new UsageError(`secret rm takes one secret name (got ${rest.length} arguments)`);
      await client.deleteSecret(rest[0]!);
      process.stderr.write(`secret '${rest[0]}' removed\n`);
      return;
    }
    default:
      throw new UsageError(`secret takes set, ls or rm (got ${sub ?? 'nothing'})`);
  }
}

/** The value's bytes exactly as given: a trailing newline is part of it (use printf '%s', not echo). */
async function readValue(file: string | undefined): Promise<Buffer> {
  if (file !== undefined && file !== '-') {
    try {
      return await readFile(file);
    } catch (err) {
      throw new UsageError(
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  if (process.stdin.isTTY)
    process.stderr.write('reading the value from stdin; end it with Ctrl-D\n');
  return readStdinBytes();
}
