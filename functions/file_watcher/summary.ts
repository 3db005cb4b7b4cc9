// A short extractive summary: the document's opening sentences, whole words only, never more than
// SUMMARY_MAX characters and never a character cut in half.

export const SUMMARY_MAX = 300;
const ELLIPSIS = '…';

/** Whitespace (newlines, tabs, runs of spaces, NBSP) collapsed to single spaces. */
export const normalizeSpace = (text: string): string => text.replace(/\s+/gu, ' ').trim();

const sentences = new Intl.Segmenter('en', { granularity: 'sentence' });
const words = new Intl.Segmenter('en', { granularity: 'word' });
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * The text's leading whole sentences that fit in `max` characters (UTF-16 code units, so at most
 * `max` code points and graphemes too). When not even the first sentence fits, its leading whole
 * words and an ellipsis; a first word longer than `max` alone is cut between graphemes. Segment
 * boundaries from Intl.Segmenter never fall inside a surrogate pair or a combining sequence.
 */
export function summarize(text: string, max = SUMMARY_MAX): string {
  const flat = normalizeSpace(text);
  if (flat.length <= max) return flat;

  let whole = '';
  for (const { segment } of sentences.segment(flat)) {
    if ((whole + segment).trimEnd().length > max) break;
    whole += segment;
  }
  // Whole sentences when they say something; one short sentence then a cut-off is a poor summary.
  if (whole.trim().length >= max / 2) return whole.trim();

  const room = max - ELLIPSIS.length;
  let cut = '';
  let fitted = '';
  for (const { segment, isWordLike } of words.segment(flat)) {
    if ((cut + segment).length > room) break;
    cut += segment;
    if (isWordLike) fitted = cut; // end on a word, not on the punctuation or space after it
  }
  if (!fitted) fitted = cutGraphemes(flat, room);
  return fitted.replace(/[\s,;:([{«"'-]+$/u, '') + ELLIPSIS;
}

/** The longest run of leading whole graphemes within `room` code units. */
function cutGraphemes(text: string, room: number): string {
  let out = '';
  for (const { segment } of graphemes.segment(text)) {
    if (out.length + segment.length > room) break;
    out += segment;
  }
  return out;
}
