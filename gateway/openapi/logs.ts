// /openapi.json paths of the log reads: a function's recent lines (or their stream), an invocation's.
import { MAX_TAIL } from '../routes/logs.ts';
import { admin, errors, idParam, json, nameParam, ok } from './parts.ts';

export function logPaths(): Record<string, unknown> {
  return {
    '/functions/{name}/logs': {
      get: {
        summary:
          "A function's recent output; with follow=true a server-sent event stream, one `data:` line (a LogLine as JSON) per line",
        security: admin,
        parameters: [
          nameParam,
          {
            name: 'tail',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 1, maximum: MAX_TAIL },
          },
          {
            name: 'follow',
            in: 'query',
            required: false,
            schema: { type: 'string', enum: ['true', 'false'] },
          },
        ],
        responses: {
          '200': {
            description: 'the lines, oldest first',
            content: {
              ...json('FunctionLogs'),
              'text/event-stream': { schema: { type: 'string' } },
            },
          },
          ...errors(400, 401, 404),
        },
      },
    },
    '/invocations/{id}/logs': {
      get: {
        summary: 'The lines one invocation wrote (they arrive a few ms after its response)',
        security: admin,
        parameters: [idParam],
        responses: { '200': ok('its lines', 'InvocationLogs'), ...errors(401, 404) },
      },
    },
  };
}
