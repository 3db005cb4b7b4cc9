// Built-in function file_watcher: the text of a PDF or Markdown file in its allowed directories,
// summarised in at most 300 characters, emitted as a file_summary event on files.v1 and returned.
// Triggered by file_created / file_changed events of the fs source, or invoked with { path }.
import { FileError } from './errors.ts';
import { extractorFor } from './extract.ts';
import { pathOf, readBounded, resolveInside } from './read.ts';
import { normalizeSpace, SUMMARY_MAX, summarize } from './summary.ts';

export interface FileSummary {
  path: string;
  title?: string;
  summary: string;
  /** characters of extracted text (whitespace collapsed) the summary was taken from */
  chars: number;
  /** PDFs only */
  pages?: number;
}

export interface Context {
  config?: { max_bytes?: unknown; topic?: unknown };
  emit?(topic: string, type: string, data: unknown): void;
}

const DEFAULT_MAX_BYTES = 20 * 1024 * 1024;
const DEFAULT_TOPIC = 'files.v1';

/** The directories permissions.fs mounted, as the runtime tells the container (a JSON list). */
export function allowedFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: unknown = JSON.parse(env.TITAN_FS_ALLOW || '[]');
  return Array.isArray(dirs) ? dirs.filter((d): d is string => typeof d === 'string') : [];
}

function settingsOf(config: Context['config'] = {}): { maxBytes: number; topic: string } {
  const { max_bytes: maxBytes = DEFAULT_MAX_BYTES, topic = DEFAULT_TOPIC } = config;
  if (!Number.isSafeInteger(maxBytes) || (maxBytes as number) < 1)
    throw new FileError(
      'invalid_config',
      `config max_bytes must be a positive integer (got ${JSON.stringify(maxBytes)})`,
    );
  if (typeof topic !== 'string' || !topic)
    throw new FileError(
      'invalid_config',
      `config topic must be a non-empty string (got ${JSON.stringify(topic)})`,
    );
  return { maxBytes: maxBytes as number, topic };
}

export async function summarizeFile(
  event: unknown,
  context: Context,
  allowed: readonly string[],
): Promise<FileSummary> {
  const { maxBytes } = settingsOf(context.config);
  const shown = pathOf(event);
  const extract = extractorFor(shown); // before reading: an unsupported type is refused without I/O
  const file = await resolveInside(shown, allowed);
  const { text, title, pages } = await extract(await readBounded(file, shown, maxBytes), shown);
  const flat = normalizeSpace(text);
  return {
    path: file,
    ...(title ? { title: summarize(title, SUMMARY_MAX) } : {}),
    summary: summarize(flat, SUMMARY_MAX),
    chars: flat.length,
    ...(pages !== undefined ? { pages } : {}),
  };
}

export default async function fileWatcher(event: unknown, context: Context): Promise<FileSummary> {
  const { topic } = settingsOf(context.config);
  const result = await summarizeFile(event, context, allowedFromEnv());
  context.emit?.(topic, 'file_summary', result);
  return result;
}
