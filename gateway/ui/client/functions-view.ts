// The functions list: status, version, runtime, triggers, live pool gauges, rates and latency,
// refreshed every two seconds. Rows are kept by name and updated in place, so focus and reading
// position survive a refresh.
import { getJson } from './api.ts';
import { fmt, h, replace, routeLink, setText } from './dom.ts';
import { gauge, type Gauge } from './gauge.ts';
import { poll } from './poll.ts';
import type { FunctionInfo, Rates } from './types.ts';
import type { View } from './view.ts';

interface Row {
  tr: HTMLTableRowElement;
  cells: Record<
    'status' | 'version' | 'runtime' | 'triggers' | 'rate' | 'errors' | 'p50' | 'p99' | 'cold',
    HTMLTableCellElement
  >;
  gauge: Gauge;
}

const COLUMNS = [
  'Function',
  'Status',
  'Version',
  'Runtime',
  'Triggers',
  'Pool',
  'Calls/min',
  'Errors/min',
  'p50',
  'p99',
  'Cold starts',
];

export const triggersText = (f: Pick<FunctionInfo, 'triggers'>): string =>
  f.triggers.length
    ? f.triggers.map((t) => (t.event_type ? `${t.topic} (${t.event_type})` : t.topic)).join(', ')
    : 'http';

export const statusText = (f: Pick<FunctionInfo, 'status' | 'error'>): string =>
  f.status === 'invalid' && f.error ? `invalid: ${f.error}` : f.status;

function newRow(name: string): Row {
  const td = (cls: string) => h('td', { class: cls });
  const cells = {
    status: td('status'),
    version: td('version'),
    runtime: td('runtime'),
    triggers: td('triggers'),
    rate: td('num rate'),
    errors: td('num errors'),
    p50: td('num p50'),
    p99: td('num p99'),
    cold: td('num cold'),
  };
  const g = gauge();
  const tr = h(
    'tr',
    { 'data-function': name },
    h('th', { scope: 'row' }, routeLink(name, 'fn', name)),
    cells.status,
    cells.version,
    cells.runtime,
    cells.triggers,
    h('td', { class: 'pool' }, g.el),
    cells.rate,
    cells.errors,
    cells.p50,
    cells.p99,
    cells.cold,
  );
  return { tr, cells, gauge: g };
}

export const functionsView: View = (main, onError) => {
  const tbody = h('tbody');
  const empty = h(
    'p',
    { class: 'muted', hidden: true },
    'No functions are deployed. Add a folder to the functions directory.',
  );
  const caption = h(
    'caption',
    {},
    'Deployed functions, updated every 2 seconds. Rates and latency over the last minute.',
  );
  replace(
    main,
    h('h2', {}, 'Functions'),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { class: 'functions' },
        caption,
        h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
        tbody,
      ),
    ),
    empty,
  );
  const rows = new Map<string, Row>();

  return poll(
    async (signal) => {
      const [{ functions }, { functions: rates }] = await Promise.all([
        getJson<{ functions: FunctionInfo[] }>('/functions', signal),
        getJson<{ functions: Array<{ name: string } & Partial<Rates>> }>(
          '/stats/functions',
          signal,
        ),
      ]);
      const rateOf = new Map(rates.map((r) => [r.name, r]));
      const seen = new Set<string>();
      for (const f of functions) {
        seen.add(f.name);
        let row = rows.get(f.name);
        if (!row) {
          row = newRow(f.name);
          rows.set(f.name, row);
        }
        tbody.appendChild(row.tr); // in the API's (sorted) order
        const r = rateOf.get(f.name);
        setText(row.cells.status, statusText(f));
        row.cells.status.dataset.status = f.status;
        setText(row.cells.version, f.version);
        setText(row.cells.runtime, f.runtime);
        setText(row.cells.triggers, triggersText(f));
        row.gauge.update(f.pool);
        setText(row.cells.rate, fmt.num(r?.invocations_per_min));
        setText(row.cells.errors, fmt.num(r?.errors_per_min));
        setText(row.cells.p50, fmt.ms(r?.p50_ms));
        setText(row.cells.p99, fmt.ms(r?.p99_ms));
        setText(row.cells.cold, String(f.stats.cold_starts));
      }
      for (const [name, row] of rows) {
        if (seen.has(name)) continue;
        row.tr.remove();
        rows.delete(name);
      }
      empty.hidden = functions.length > 0;
    },
    2000,
    onError,
  );
};
