// A pool gauge: warm, busy and starting containers as parts of a bar up to `max`, with the same
// figures in text for screen readers and for anyone who would rather read than look.
import { h, setText } from './dom.ts';
import type { Pool } from './types.ts';

export interface Gauge {
  el: HTMLElement;
  update(pool: Pool): void;
}

export function poolText(p: Pool): string {
  return `${p.warm} warm · ${p.busy} busy · ${p.starting} starting · ${p.queued} queued (min ${p.min}, max ${p.max})`;
}

export function gauge(): Gauge {
  const parts = {
    warm: h('span', { class: 'seg warm' }),
    busy: h('span', { class: 'seg busy' }),
    starting: h('span', { class: 'seg starting' }),
  };
  const bar = h(
    'span',
    { class: 'bar', 'aria-hidden': 'true' },
    parts.warm,
    parts.busy,
    parts.starting,
  );
  const text = h('span', { class: 'gauge-text' });
  const el = h('span', { class: 'gauge' }, bar, text);
  return {
    el,
    update(p) {
      const scale = Math.max(p.max, p.warm + p.busy + p.starting, 1);
      for (const k of ['warm', 'busy', 'starting'] as const)
        parts[k].style.width = `${(100 * p[k]) / scale}%`;
      el.dataset.warm = String(p.warm);
      el.dataset.busy = String(p.busy);
      setText(text, poolText(p));
    },
  };
}
