// The dashboard (GET /ui: a shell, its script and style sheet, nothing else) and the read-only figures
// it shows that no other route has: per-function rates (/stats/functions) and the event topology
// with each function's queue lag (/stats/events). Served from fixed names, never from a path a
// request names: there is no file path to traverse.
import { Hono, type Context } from 'hono';
import { TitanError } from '../../runtime/errors.ts';
import type { Metrics } from '../../runtime/metrics.ts';
import type { Registry } from '../../runtime/registry.ts';
import type { EventSystem } from '../events/event-system.ts';
import { errorAnswer } from '../http-errors.ts';
import { validateName } from '../invoke.ts';
import { dashboardAssets } from './bundle.ts';
import { securityHeaders } from './headers.ts';
import { keyFor } from './key.ts';
import { shellHtml } from './shell.ts';
import { FunctionStats } from './stats.ts';
import { manifestOf } from './manifest.ts';

export interface UiRoutesOptions {
  registry: Registry;
  events: EventSystem;
  metrics: Metrics;
  version: string;
}

export function uiRoutes({ registry, events, metrics, version }: UiRoutesOptions): Hono {
  const app = new Hono();
  const stats = new FunctionStats(metrics);
  // The zero point: rates count from the gateway's start. A failure here only delays the first rates.
  stats.sample().catch(() => {});

  const headers = (c: Context, cache: 'no-store' | 'cache') =>
    securityHeaders(c.req.header('host'), cache);
  const shell = (c: Context) =>
    c.html(
      shellHtml(
        keyFor((n) => c.req.header(n)),
        version,
      ),
      200,
      headers(c, 'no-store'),
    );
  app.get('/ui', shell);
  app.get('/ui/', shell);
  app.get('/ui/app.js', async (c) =>
    c.body((await dashboardAssets()).js, 200, {
      ...headers(c, 'cache'),
      'content-type': 'text/javascript; charset=utf-8',
    }),
  );
  app.get('/ui/app.css', async (c) =>
    c.body((await dashboardAssets()).css, 200, {
      ...headers(c, 'cache'),
      'content-type': 'text/css; charset=utf-8',
    }),
  );
  app.all('/ui/*', (c) => {
    const answer = errorAnswer(
      new TitanError('not_found', 'the dashboard serves /ui, /ui/app.js and /ui/app.css only'),
    );
    return c.body(answer.body, answer.status, { ...answer.headers, ...headers(c, 'no-store') });
  });

  app.get('/stats/functions', async (c) => {
    await stats.sample();
    return c.json({
      functions: registry.list().map((f) => ({ name: f.name, ...stats.latest(f.name) })),
    });
  });

  app.get('/stats/functions/:name', async (c) => {
    const name = c.req.param('name');
    validateName(name);
    if (!registry.has(name)) throw new TitanError('not_found', `no function named '${name}'`);
    await stats.sample();
    const dep = registry.get(name);
    return c.json({
      name,
      latest: stats.latest(name) ?? null,
      series: stats.series(name),
      manifest: dep ? manifestOf(dep.spec) : null,
    });
  });

  app.get('/stats/events', async (c) => {
    const triggers = registry.triggers();
    const topics = new Map<string, Array<{ function: string; event_type?: string }>>();
    for (const t of triggers) {
      const list = topics.get(t.topic) ?? topics.set(t.topic, []).get(t.topic)!;
      list.push({ function: t.fn, ...(t.eventType ? { event_type: t.eventType } : {}) });
    }
    const lag = new Map((await events.lag()).map((l) => [l.topic, l.lag]));
    const fns = [...new Set(triggers.map((t) => t.fn))];
    return c.json({
      state: events.health().state,
      topics: [...topics].map(([topic, functions]) => ({
        topic,
        functions,
        lag: lag.get(topic) ?? null,
      })),
      queues: await events.queueLag(fns),
    });
  });

  return app;
}
