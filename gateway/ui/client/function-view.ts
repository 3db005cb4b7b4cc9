// One function's page: status and pool gauges, its manifest, a plot of the last minutes, the invoke
// form, pool tuning and live logs. Info and figures refresh every two seconds.
import { getJson, path } from './api.ts';
import { fmt, h, replace, routeLink, setText } from './dom.ts';
import { statusText, triggersText } from './functions-view.ts';
import { gauge } from './gauge.ts';
import { invokeForm } from './invoke-form.ts';
import { logsPanel } from './logs-panel.ts';
import { drawPlot } from './plot.ts';
import { poll } from './poll.ts';
import { poolForm } from './pool-form.ts';
import type { FunctionInfo, FunctionStats } from './types.ts';
import type { View } from './view.ts';

function manifestList(manifest: Record<string, unknown>): HTMLElement {
  const dl = h('dl', { class: 'facts manifest' });
  for (const [key, value] of Object.entries(manifest)) {
    dl.append(
      h('dt', {}, key),
      h('dd', {}, typeof value === 'string' ? value : JSON.stringify(value)),
    );
  }
  return dl;
}

export const functionView: View = (main, onError, name = '') => {
  const status = h('span', { id: 'fn-status' });
  const version = h('span', { id: 'fn-version' });
  const triggers = h('span', { id: 'fn-triggers' });
  const g = gauge();
  const rates = h('p', { id: 'fn-rates', class: 'muted' });
  const manifest = h('div', { id: 'fn-manifest' }, h('p', { class: 'muted' }, 'Loading…'));
  const plot = h('div', { id: 'fn-plot', class: 'plot-host' });
  const logs = logsPanel(name, onError);
  const pool = poolForm(name, () => poller.now());
  const invoke = invokeForm(name, (id) => logs.setFilter(id));

  replace(
    main,
    h('p', { class: 'crumbs' }, routeLink('Functions', ''), ' / '),
    h('h2', { id: 'fn-name' }, name),
    h(
      'p',
      { class: 'summary' },
      h('span', {}, 'Status: '),
      status,
      ' · ',
      h('span', {}, 'Version: '),
      version,
      ' · ',
      h('span', {}, 'Triggers: '),
      triggers,
    ),
    h('p', { class: 'pool-line' }, g.el),
    rates,
    h(
      'div',
      { class: 'grid' },
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'plot-heading' },
        h('h3', { id: 'plot-heading' }, 'Last minutes'),
        plot,
        h(
          'p',
          { class: 'legend' },
          h('span', { class: 'key rate' }, 'calls/min'),
          h('span', { class: 'key p50' }, 'p50'),
          h('span', { class: 'key p99' }, 'p99'),
        ),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'manifest-heading' },
        h('h3', { id: 'manifest-heading' }, 'Manifest'),
        manifest,
      ),
      invoke,
      pool.el,
    ),
    logs.el,
  );

  let manifestShown = '';
  const poller = poll(
    async (signal) => {
      const [info, stats] = await Promise.all([
        getJson<FunctionInfo>(path('functions', name), signal),
        getJson<FunctionStats>(path('stats', 'functions', name), signal),
      ]);
      setText(status, statusText(info));
      status.dataset.status = info.status;
      setText(version, info.version);
      setText(triggers, triggersText(info));
      g.update(info.pool);
      pool.update(info);
      const l = stats.latest;
      setText(
        rates,
        l
          ? `Last minute: ${fmt.num(l.invocations_per_min)} calls/min, ${fmt.num(l.errors_per_min)} errors/min, p50 ${fmt.ms(l.p50_ms)}, p99 ${fmt.ms(l.p99_ms)}, ${info.stats.cold_starts} cold starts since deploy`
          : '',
      );
      const m = JSON.stringify(stats.manifest);
      if (m !== manifestShown) {
        manifestShown = m;
        replace(
          manifest,
          stats.manifest
            ? manifestList(stats.manifest)
            : h('p', { class: 'muted' }, 'No valid version is deployed.'),
        );
      }
      drawPlot(plot, stats.series);
    },
    2000,
    onError,
  );

  return {
    stop() {
      poller.stop();
      logs.stop();
    },
  };
};
