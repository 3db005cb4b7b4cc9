// The invalid_manifest error: every problem at once, each line prefixed with the manifest's file.
import { TitanError } from '../errors.ts';

export function manifestError(
  file: string,
  problems: string[],
  details: Record<string, unknown>,
): TitanError {
  const lines = problems.map((p) => `${file}: ${p}`);
  const head =
    lines.length === 1 ? '' : `invalid function manifest ${file} (${lines.length} problems):\n`;
  return new TitanError('invalid_manifest', head + lines.join('\n'), {
    ...details,
    file,
    problems: lines,
  });
}
