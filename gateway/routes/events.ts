// Management routes of the event system: publish, async invocation status, the dead-letter queue.
import { Hono } from 'hono';
import * as v from 'valibot';
import { TitanError } from '../../runtime/errors.ts';
import type { EventSystem } from '../events/event-system.ts';
import { checkEventJson } from '../invoke.ts';

export const PublishBody = v.object({
  type: v.pipe(v.string('type must be a string'), v.minLength(1, 'type must not be empty'), v.maxLength(200, 'type is at most 200 characters')),
  data: v.optional(v.unknown()),
});

/** Parse a JSON body against a schema; a failure is a 400 that names what is wrong. */
export function parseBody<S extends v.GenericSchema>(schema: S, text: string): v.InferOutput<S> {
  const json = JSON.parse(checkEventJson(text));
  const r = v.safeParse(schema, json);
  if (!r.success) throw new TitanError('invalid_request', r.issues.map((i) => `${v.getDotPath(i) ?? 'body'}: ${i.message}`).join('; '));
  return r.output;
}

export function eventRoutes(events: EventSystem): Hono {
  const app = new Hono();

  app.post('/events/:topic', async (c) => {
    const body = parseBody(PublishBody, await c.req.text());
    const id = await events.publish(c.req.param('topic'), body.type, JSON.stringify(body.data ?? null));
    return c.json({ id, topic: c.req.param('topic') }, 201);
  });

  app.get('/invocations/:id', async (c) => c.json(await events.getInvocation(c.req.param('id'))));

  app.get('/dlq', async (c) => {
    const count = Math.min(Math.max(Number(c.req.query('count') ?? 100) || 100, 1), 1000);
    return c.json({ entries: await events.listDlq(count) });
  });

  app.post('/dlq/:id/replay', async (c) => c.json(await events.replayDlq(c.req.param('id'))));

  return app;
}
