// The run's output: a plain-text table on stdout and bench/results/<timestamp>.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MachineInfo } from './machine.ts';
import type { Measurement } from './record.ts';

/** Few digits, but never fewer than the integer part: 0.123, 12.3, 1234. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toString();
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

function spreadText(m: Measurement): string {
  if (m.spread.n < 2) return `n=${m.spread.n}`;
  return `${fmt(m.spread.min)}..${fmt(m.spread.max)} n=${m.spread.n}`;
}

export function table(rows: Measurement[]): string {
  const head = ['measurement', 'value', 'unit', 'spread', 'reference', 'ratio', 'target', 'met'];
  const body = rows.map((m) => [
    m.name,
    fmt(m.value),
    m.unit,
    spreadText(m),
    m.reference === null ? '-' : `${fmt(m.reference)} (${m.reference_name})`,
    m.ratio === null ? '-' : `${fmt(m.ratio)}x`,
    m.target ?? '-',
    m.met === null ? '' : m.met ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 1 || i === 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export interface RunReport {
  started: string;
  mode: 'quick' | 'full';
  machine: MachineInfo;
  measurements: Measurement[];
  notes: string[];
}

/** Writes the JSON next to the earlier ones; returns its path. */
export async function writeReport(dir: string, report: RunReport): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${report.started.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
