// Live warm-pool tuning: PUT applies any of { min, max, concurrency, idle_sec } at once and keeps it
// across restarts; DELETE returns to the manifest's settings.
import { Hono } from 'hono';
import { PoolUpdateSchema } from '../../runtime/pool-overrides.ts';
import type { Registry } from '../../runtime/registry.ts';
import { parseBody } from '../body.ts';
import { validateName } from '../invoke.ts';

export function poolRoutes(registry: Registry): Hono {
  const app = new Hono();

  app.put('/functions/:name/pool', async (c) => {
    const name = c.req.param('name');
    validateName(name);
    return c.json(await registry.setPool(name, parseBody(PoolUpdateSchema, await c.req.text())));
  });

  app.delete('/functions/:name/pool', async (c) => {
    const name = c.req.param('name');
    validateName(name);
    return c.json(await registry.resetPool(name));
  });

  return app;
}
