// `titan pool <name>`: change a pool's knobs live, or --reset them to the manifest's.
import type { PoolUpdate, TitanClient } from '../client.ts';
import { formatPools } from '../cli-format.ts';
import type { Values } from './args.ts';
import { arity, UsageError } from './usage.ts';

function poolUpdate(v: Values): PoolUpdate {
  const out: PoolUpdate = {};
  for (const [flag, key] of [
    ['min', 'min'],
    ['max', 'max'],
    ['concurrency', 'concurrency'],
    ['idle-sec', 'idle_sec'],
  ] as const) {
    const raw = v[flag];
    if (raw === undefined) continue;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n))
      throw new UsageError(`--${flag} takes a number (got ${JSON.stringify(raw)})`);
    out[key] = n;
  }
  return out;
}

export async function poolCommand(
  client: TitanClient,
  rest: string[],
  values: Values,
): Promise<void> {
  const cmd = 'pool';
  arity(cmd, rest, ['name']);
  const update = poolUpdate(values);
  if (values.reset && Object.keys(update).length)
    throw new UsageError('--reset takes no other knob');
  if (!values.reset && !Object.keys(update).length)
    throw new UsageError('give at least one of --min --max --concurrency --idle-sec, or --reset');
  const fn = values.reset ? await client.resetPool(rest[0]) : await client.setPool(rest[0], update);
  process.stdout.write(formatPools([fn]));
}
