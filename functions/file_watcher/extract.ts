// Plain text (and a title where the document has one) out of the file types file_watcher reads:
// PDF through unpdf (Mozilla's PDF.js), Markdown through mdast-util-from-markdown.
import { extname } from 'node:path';
import { extractText, getDocumentProxy, getMeta } from 'unpdf';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { toString as mdastText } from 'mdast-util-to-string';
import type { RootContent } from 'mdast';
import { FileError } from './errors.ts';

export interface Extracted {
  text: string;
  title?: string;
  pages?: number;
}

type Extractor = (bytes: Uint8Array, shown: string) => Promise<Extracted>;

const EXTRACTORS: Record<string, Extractor> = {
  '.pdf': pdfText,
  '.md': markdownText,
  '.markdown': markdownText,
};
export const SUPPORTED = Object.keys(EXTRACTORS);

/** The extractor for a path, by extension; unsupported types are a clear error, not a guess. */
export function extractorFor(path: string): Extractor {
  const ext = extname(path).toLowerCase();
  const extractor = EXTRACTORS[ext];
  if (!extractor)
    throw new FileError(
      'unsupported_type',
      `${path}: unsupported file type '${ext || '(none)'}' (file_watcher reads ${SUPPORTED.join(', ')})`,
    );
  return extractor;
}

async function pdfText(bytes: Uint8Array, shown: string): Promise<Extracted> {
  // PDF.js searches the first 1024 bytes for the header; anything else is not a PDF at all.
  if (!Buffer.from(bytes.subarray(0, 1024)).includes('%PDF-'))
    throw new FileError('corrupt', `${shown}: not a PDF (no %PDF- header)`);
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    pdf = await getDocumentProxy(bytes, { verbosity: 0 }); // 0: errors only, no warnings in the logs
  } catch (err) {
    throw pdfError(err, shown);
  }
  try {
    const { totalPages, text } = await extractText(pdf, { mergePages: true });
    const { info } = await getMeta(pdf);
    const title = typeof info?.Title === 'string' ? info.Title.trim() : '';
    return { text, pages: totalPages, ...(title ? { title } : {}) };
  } catch (err) {
    throw pdfError(err, shown);
  } finally {
    await pdf.loadingTask.destroy(); // frees the document; the container serves the next call
  }
}

/** PDF.js names its failures: a password prompt, a broken file, or something else inside it. */
function pdfError(err: unknown, shown: string): FileError {
  const { name, message } = err as Error;
  if (name === 'PasswordException')
    return new FileError(
      'encrypted',
      `${shown}: the PDF is encrypted with a password (${message})`,
    );
  if (
    name === 'InvalidPDFException' ||
    name === 'FormatError' ||
    name === 'UnknownErrorException'
  ) {
    return new FileError('corrupt', `${shown}: the PDF is corrupt (${message})`);
  }
  return new FileError('corrupt', `${shown}: the PDF could not be read (${name}: ${message})`);
}

/** Node kinds whose text is not prose: code and raw HTML stay out of a summary. */
const SKIPPED = new Set<string>([
  'code',
  'html',
  'definition',
  'footnoteDefinition',
  'thematicBreak',
  'yaml',
]);
/** Nodes that hold one run of prose each; everything else (lists, quotes, tables) only holds blocks. */
const LEAF_BLOCKS = new Set<string>(['paragraph', 'heading', 'tableCell']);

async function markdownText(bytes: Uint8Array, shown: string): Promise<Extracted> {
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FileError('corrupt', `${shown}: not UTF-8 text`);
  }
  const tree = fromMarkdown(source.replace(/^\uFEFF/, ''));
  const first = tree.children.find((n) => n.type === 'heading');
  const title = first?.type === 'heading' && first.depth === 1 ? mdastText(first).trim() : '';
  const lines: string[] = [];
  for (const node of tree.children) if (!(title && node === first)) collect(node, lines);
  return { text: lines.join('\n'), ...(title ? { title } : {}) };
}

/** One line per prose block, so list items and paragraphs do not run into each other. */
function collect(node: RootContent, lines: string[]): void {
  if (SKIPPED.has(node.type)) return;
  if (LEAF_BLOCKS.has(node.type)) {
    const text = mdastText(node, { includeImageAlt: false }).trim();
    // a heading without closing punctuation gets a full stop, so it ends a sentence of its own
    if (text) lines.push(node.type === 'heading' && !/[.!?:]$/.test(text) ? `${text}.` : text);
    return;
  }
  if ('children' in node) for (const child of node.children as RootContent[]) collect(child, lines);
}
