// Management routes of the event system: publish, async invocation status, the dead-letter queue.
import { Hono } from 'hono';
import * as v from 'valibot';
import type { EventSystem } from '../events/event-system.ts';
import { EVENT_TYPE_MAX, validateTopic } from '../events/publish-rules.ts';
import { parseBody } from '../body.ts';
import { strictObject } from '../../runtime/schema-util.ts';

export const PublishBody = strictObject({
  type: v.pipe(v.string(), v.minLength(1), v.maxLength(EVENT_TYPE_MAX)),
  data: v.optional(v.unknown()),
});

export function eventRoutes(events: EventSystem): Hono {
  const app = new Hono();

  // A reserved or malformed topic is refused (400 invalid_topic) before the body is read.
  app.post('/events/:topic', async (c) => {
    const topic = c.req.param('topic');
    validateTopic(topic);
    const body = parseBody(PublishBody, await c.req.text());
    const id = await events.publish(topic, body.type, JSON.stringify(body.data ?? null));
    return c.json({ id, topic }, 201);
  });

  app.get('/invocations/:id', async (c) => c.json(await events.getInvocation(c.req.param('id'))));

  app.get('/dlq', async (c) => {
    const count = Math.min(Math.max(Number(c.req.query('count') ?? 100) || 100, 1), 1000);
    return c.json({ entries: await events.listDlq(count) });
  });

  app.post('/dlq/:id/replay', async (c) => c.json(await events.replayDlq(c.req.param('id'))));

  return app;
}
