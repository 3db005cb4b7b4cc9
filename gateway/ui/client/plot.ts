// A small line plot in inline SVG (built with createElementNS, no markup strings): calls per minute
// and p50 latency over the last minutes, each on its own scale, with a text summary for screen readers.
import { fmt } from './dom.ts';
import type { Rates } from './types.ts';

const NS = 'http://www.w3.org/2000/svg';
const W = 600;
const H = 160;
const PAD = 28;

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function line(
  points: Array<[number, number | null]>,
  max: number,
  t0: number,
  t1: number,
  cls: string,
): SVGPolylineElement {
  const x = (t: number) => PAD + ((W - 2 * PAD) * (t - t0)) / Math.max(t1 - t0, 1);
  const y = (v: number) => H - PAD - ((H - 2 * PAD) * v) / Math.max(max, 1e-9);
  const pts = points
    .filter((p): p is [number, number] => p[1] !== null)
    .map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`);
  return svg('polyline', { points: pts.join(' '), class: cls, fill: 'none' });
}

/** Draw `series` into `host` (replacing what was there). */
export function drawPlot(host: Element, series: Rates[]): void {
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-labelledby': 'plot-title',
    class: 'plot',
  });
  const last = series.at(-1);
  const summary = last
    ? `Last ${Math.round((series.length * (last.window_ms || 0)) / 60000) || 1} min: now ${fmt.num(last.invocations_per_min)} calls/min, p50 ${fmt.ms(last.p50_ms)}, p99 ${fmt.ms(last.p99_ms)}`
    : 'No data yet: the plot fills in as the gateway samples its counters.';
  root.appendChild(svg('title', { id: 'plot-title' }, summary));
  root.appendChild(svg('line', { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, class: 'axis' }));
  if (series.length >= 1) {
    const t0 = series[0]!.at - series[0]!.window_ms;
    const t1 = last!.at;
    const maxRate = Math.max(...series.map((s) => s.invocations_per_min), 1);
    const maxMs = Math.max(...series.map((s) => s.p99_ms ?? 0), 1);
    root.appendChild(
      line(
        series.map((s) => [s.at, s.invocations_per_min]),
        maxRate,
        t0,
        t1,
        'rate',
      ),
    );
    root.appendChild(
      line(
        series.map((s) => [s.at, s.p50_ms]),
        maxMs,
        t0,
        t1,
        'p50',
      ),
    );
    root.appendChild(
      line(
        series.map((s) => [s.at, s.p99_ms]),
        maxMs,
        t0,
        t1,
        'p99',
      ),
    );
    root.appendChild(
      svg(
        'text',
        { x: PAD, y: PAD - 10, class: 'label rate' },
        `calls/min (max ${fmt.num(maxRate)})`,
      ),
    );
    root.appendChild(
      svg(
        'text',
        { x: W - PAD, y: PAD - 10, class: 'label p50', 'text-anchor': 'end' },
        `p50 / p99 latency (max ${fmt.ms(maxMs)})`,
      ),
    );
    root.appendChild(svg('text', { x: PAD, y: H - 8, class: 'label' }, fmt.time(t0)));
    root.appendChild(
      svg('text', { x: W - PAD, y: H - 8, class: 'label', 'text-anchor': 'end' }, fmt.time(t1)),
    );
  }
  host.replaceChildren(root);
  host.setAttribute('data-points', String(series.length));
}
