// /openapi.json paths on Redis Streams: publish and tail topics, results, async invocations, the DLQ.
import { MAX_TAIL as MAX_STREAM_TAIL } from '../events/stream-tail.ts';
import { admin, errors, idParam, json, ok } from './parts.ts';

const tailParams = [
  {
    name: 'count',
    in: 'query',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: MAX_STREAM_TAIL, default: 10 },
  },
  {
    name: 'after',
    in: 'query',
    required: false,
    description: 'only entries after this id (to follow)',
    schema: { type: 'string', pattern: '^\\d+-\\d+$' },
  },
];

/** Topics and the results stream. */
export function eventPaths(): Record<string, unknown> {
  return {
    '/events/{topic}': {
      post: {
        summary: 'Publish an event',
        security: admin,
        parameters: [{ name: 'topic', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: json('PublishEvent') },
        responses: { '201': ok('appended', 'Published'), ...errors(400, 401, 503) },
      },
      get: {
        summary:
          "A topic's newest entries, oldest first, or those after `after` (read-only: nothing is consumed)",
        security: admin,
        parameters: [
          { name: 'topic', in: 'path', required: true, schema: { type: 'string' } },
          ...tailParams,
        ],
        responses: { '200': ok('the entries', 'TopicEntries'), ...errors(400, 401, 503) },
      },
    },
    '/results': {
      get: {
        summary:
          "The results stream's newest entries (each event or async invocation's outcome), oldest first",
        security: admin,
        parameters: tailParams,
        responses: { '200': ok('the entries', 'ResultEntries'), ...errors(400, 401, 503) },
      },
    },
  };
}

/** Async invocations and the dead-letter queue. */
export function queuePaths(): Record<string, unknown> {
  return {
    '/invocations/{id}': {
      get: {
        summary: 'Status and result of an async invocation',
        parameters: [idParam],
        responses: { '200': ok('its status'), ...errors(404, 503) },
      },
    },
    '/dlq': {
      get: {
        summary: 'Dead-lettered entries, newest first',
        security: admin,
        responses: { '200': ok('entries'), ...errors(401, 503) },
      },
    },
    '/dlq/{id}/replay': {
      post: {
        summary: "Put an entry back on its function's queue",
        security: admin,
        parameters: [idParam],
        responses: { '200': ok('re-queued'), ...errors(400, 401, 404, 503) },
      },
    },
  };
}
