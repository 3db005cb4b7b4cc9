// Read-only management routes over the event streams, so walk-throughs can be checked with the
// project's own tools: GET /events/:topic (a topic's newest entries, or those after ?after=<id>) and
// GET /results (the results stream). Behind the admin token and the page rule (app.ts). A topic is
// validated as for publishing: a reserved name (titan.*: queues, results, dead letters) is refused.
import { Hono } from 'hono';
import * as v from 'valibot';
import type { EventSystem } from '../events/event-system.ts';
import { validateTopic } from '../events/publish-rules.ts';
import { tailQuery } from '../events/stream-tail.ts';

/** An entry as stored: its id and its fields (type, data as JSON text, source, time; results: function, status, result or error). */
const Entry = v.objectWithRest({ id: v.string() }, v.string());
export const TopicEntriesSchema = v.object({ topic: v.string(), entries: v.array(Entry) });
export const ResultEntriesSchema = v.object({ entries: v.array(Entry) });

export function streamRoutes(events: EventSystem): Hono {
  const app = new Hono();

  app.get('/events/:topic', async (c) => {
    const topic = c.req.param('topic');
    validateTopic(topic);
    const q = tailQuery(c.req.query('count'), c.req.query('after'));
    return c.json({ topic, entries: await events.readStream(events.keys.topic(topic), q) });
  });

  app.get('/results', async (c) => {
    const q = tailQuery(c.req.query('count'), c.req.query('after'));
    return c.json({ entries: await events.readStream(events.keys.results, q) });
  });

  return app;
}
