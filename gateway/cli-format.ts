// Tables the `titan` CLI prints: `titan list` and `titan pools`; and `titan logs` lines.
import type { FunctionInfo } from '../runtime/function-info.ts';
import type { LogLineView } from './client.ts';

export function formatTable(fns: FunctionInfo[]): string {
  if (fns.length === 0) return 'no functions deployed\n';
  const withError = fns.some((f) => f.error || f.update_failed);
  const head = [
    'NAME',
    'VERSION',
    'STATUS',
    'WARM/BUSY/STARTING',
    'MIN/MAX',
    'CONC',
    'ISOLATION',
    ...(withError ? ['ERROR'] : []),
  ];
  const rows = fns.map((f) => [
    f.name,
    f.version || '-',
    f.update_failed ? `${f.status} (update failed)` : f.status,
    `${f.pool.warm}/${f.pool.busy}/${f.pool.starting}`,
    `${f.pool.min}/${f.pool.max}`,
    String(f.pool.concurrency),
    f.isolation ?? '-',
    // A failed update: the version listed serves; the error is the newer one's, which did not.
    ...(withError
      ? [f.error ?? (f.update_failed ? `update failed: ${f.update_failed.reason}` : '')]
      : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  // The last column (often a long error) is not padded.
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return `${[head, ...rows].map(line).join('\n')}\n`;
}

export function formatPools(fns: FunctionInfo[]): string {
  const live = fns.filter((f) => f.status !== 'invalid');
  if (live.length === 0) return 'no functions deployed\n';
  const head = [
    'FUNCTION',
    'MIN/MAX',
    'CONC',
    'IDLE_S',
    'WARM',
    'BUSY',
    'STARTING',
    'QUEUED',
    'INVOCATIONS',
    'COLD',
    'WAIT_P50_MS',
    'WAIT_P99_MS',
  ];
  const rows = live.map((f) => [
    f.name + (f.pool_overridden ? '*' : ''),
    `${f.pool.min}/${f.pool.max}`,
    String(f.pool.concurrency),
    String(f.pool.idle_sec ?? '-'),
    String(f.pool.warm),
    String(f.pool.busy),
    String(f.pool.starting),
    String(f.pool.queued ?? 0),
    String(f.stats?.invocations ?? 0),
    String(f.stats?.cold_starts ?? 0),
    (f.stats?.wait_p50_ms ?? 0).toFixed(3),
    (f.stats?.wait_p99_ms ?? 0).toFixed(3),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const note = live.some((f) => f.pool_overridden)
    ? '* settings changed live (titan pool <name> --reset returns to the manifest)\n'
    : '';
  return `${[head, ...rows].map(line).join('\n')}\n${note}`;
}

/** `time stream invocation text`: the invocation id's first 8 characters, `-` for output outside one. */
export function formatLogLine(l: LogLineView): string {
  return `${new Date(l.time).toISOString()} ${l.stream} ${(l.invocationId?.slice(0, 8) ?? '-').padEnd(8)} ${l.text}\n`;
}
