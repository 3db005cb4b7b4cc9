// Small PDF fixtures written by the tests themselves: text pages in the standard Helvetica font (no
// embedded fonts), an optional /Title, and an /Encrypt entry to make a password-protected file.
// Offsets in the cross-reference table are computed, so PDF readers need no repair to open them.

export interface PdfOptions {
  /** one string per page; each line of a page becomes text lines, wrapped at 80 characters */
  pages: string[];
  title?: string;
  /** add a standard security handler entry (40-bit RC4) whose password is not empty */
  encrypted?: boolean;
}

/** PDF string literal: backslash, parentheses escaped; ASCII only (Helvetica's WinAnsi subset). */
const literal = (s: string) => `(${s.replace(/[\\()]/g, (c) => `\\${c}`)})`;

/** Lines of at most 80 characters, broken at spaces: text past the page's edge is not the page's text. */
function wrap(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const word of line.split(' ')) {
    if (cur && cur.length + 1 + word.length > 80) {
      out.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  return [...out, cur];
}

export function makePdf({ pages, title, encrypted = false }: PdfOptions): Buffer {
  const objects: string[] = [];
  const add = (body: string) => objects.push(body); // the new length is the object's number (from 1)
  const catalog = add('<< /Type /Catalog /Pages 2 0 R >>');
  add(''); // 2: the page tree, filled in once the pages exist
  const font = add(
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
  );
  const kids: number[] = [];
  for (const text of pages) {
    const lines = text
      .split('\n')
      .flatMap(wrap)
      .map((l, i) => `${i === 0 ? '' : '0 -16 Td '}${literal(l)} Tj`);
    const stream = `BT /F1 12 Tf 72 720 Td ${lines.join(' ')} ET`;
    const content = add(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
    kids.push(
      add(
        `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${content} 0 R >>`,
      ),
    );
  }
  objects[1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`;
  const info = title === undefined ? undefined : add(`<< /Title ${literal(title)} >>`);
  // 32-byte O and U values that do not match the empty password: readers ask for one.
  const encrypt = encrypted
    ? add(
        `<< /Filter /Standard /V 1 /R 2 /P -44 /O <${'a1'.repeat(32)}> /U <${'b2'.repeat(32)}> >>`,
      )
    : undefined;

  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  const extra = [
    info ? `/Info ${info} 0 R` : '',
    encrypt ? `/Encrypt ${encrypt} 0 R /ID [<${'c3'.repeat(16)}> <${'c3'.repeat(16)}>]` : '',
  ].join(' ');
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R ${extra} >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
