// GET /openapi.json: the API described from the same valibot schemas that validate requests and
// shape responses, so the document cannot drift from what the gateway accepts.
import { toJsonSchema } from '@valibot/to-json-schema';
import * as v from 'valibot';
import { FunctionInfoSchema } from '../runtime/function-info.ts';
import { PoolUpdateSchema } from '../runtime/pool-overrides.ts';
import { STATUS } from './http-errors.ts';
import { PublishBody } from './routes/events.ts';
import { LogLineSchema } from '../runtime/logs.ts';
import { MAX_TAIL } from './routes/logs.ts';
import { HTTP_METHODS } from '../runtime/spec.ts';
import { SecretDeletedSchema, SecretListSchema, SecretSetSchema } from './routes/secrets.ts';
import { ResultEntriesSchema, TopicEntriesSchema } from './routes/streams.ts';
import { MAX_SECRET_BYTES, SECRET_NAME } from '../runtime/secrets.ts';
import { MAX_TAIL as MAX_STREAM_TAIL } from './events/stream-tail.ts';
import {
  EventsStatsSchema,
  FunctionRatesListSchema,
  FunctionStatsSchema,
} from './ui/stats-schema.ts';

const ErrorBody = v.object({
  error: v.object({
    code: v.picklist(Object.keys(STATUS) as [string, ...string[]]),
    message: v.string(),
    details: v.optional(v.record(v.string(), v.unknown())),
  }),
});
const FunctionList = v.object({ functions: v.array(FunctionInfoSchema) });
const AsyncAccepted = v.object({ invocationId: v.string() });
const Published = v.object({ id: v.string(), topic: v.string() });
const FunctionLogs = v.object({ function: v.string(), lines: v.array(LogLineSchema) });
const InvocationLogs = v.object({
  invocationId: v.string(),
  function: v.string(),
  lines: v.array(LogLineSchema),
});

/** JSON Schema for an OpenAPI 3.1 document: the `$schema` key belongs to standalone schemas only. */
function schema(s: v.GenericSchema): Record<string, unknown> {
  const { $schema: _drop, ...rest } = toJsonSchema(s, { errorMode: 'ignore' }) as Record<
    string,
    unknown
  >;
  return rest;
}

const json = (ref: string) => ({
  'application/json': { schema: { $ref: `#/components/schemas/${ref}` } },
});
const ok = (description: string, ref?: string) => ({
  description,
  ...(ref ? { content: json(ref) } : {}),
});
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      {
        description: `error (${Object.entries(STATUS)
          .filter(([, st]) => st === s)
          .map(([c]) => c)
          .join(', ')})`,
        content: json('Error'),
      },
    ]),
  );
const nameParam = {
  name: 'name',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,62}$' },
};
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const admin = [{ bearer: [] }];
const secretParam = {
  name: 'name',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: SECRET_NAME.source, description: "no '..'" },
};
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
const anyJson = { required: false, content: { 'application/json': { schema: {} } } };
const invocationHeaders = {
  'x-invocation-id': { schema: { type: 'string' } },
  'x-cold-start': { schema: { type: 'string', enum: ['true', 'false'] } },
};

/** `/function/{name}[/{path}]`: every method, any body in and out (the README has the event and the answer). */
function functionRoute(withPath: boolean): Record<string, unknown> {
  const parameters = [
    nameParam,
    ...(withPath
      ? [
          {
            name: 'path',
            in: 'path',
            required: true,
            description: 'the rest of the path, slashes included: the event’s `path`',
            schema: { type: 'string' },
          },
        ]
      : []),
  ];
  const operation = (method: string) => ({
    summary: `${method} to an HTTP function: the request is its event (method, path, query, headers, body); it answers any status, headers and body`,
    parameters,
    ...(method === 'GET' || method === 'HEAD'
      ? {}
      : { requestBody: { required: false, content: { '*/*': { schema: {} } } } }),
    responses: {
      default: {
        description:
          "the function's answer: `{ statusCode, headers, body, isBase64Encoded }`, or any other value as 200 JSON",
        headers: invocationHeaders,
        content: { '*/*': { schema: {} } },
      },
      ...errors(400, 401, 403, 404, 405, 409, 413, 429, 502, 503, 504),
    },
  });
  return Object.fromEntries(HTTP_METHODS.map((m) => [m.toLowerCase(), operation(m)]));
}

export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Titan Functions gateway',
      version,
      description: 'Every function folder is an HTTP endpoint served by prewarmed container pools.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'TITAN_ADMIN_TOKEN' },
      },
      schemas: {
        Error: schema(ErrorBody),
        FunctionInfo: schema(FunctionInfoSchema),
        FunctionList: schema(FunctionList),
        PoolUpdate: schema(PoolUpdateSchema),
        PublishEvent: schema(PublishBody),
        AsyncAccepted: schema(AsyncAccepted),
        Published: schema(Published),
        LogLine: schema(LogLineSchema),
        FunctionLogs: schema(FunctionLogs),
        InvocationLogs: schema(InvocationLogs),
        FunctionRates: schema(FunctionRatesListSchema),
        FunctionStats: schema(FunctionStatsSchema),
        EventsStats: schema(EventsStatsSchema),
        SecretList: schema(SecretListSchema),
        SecretSet: schema(SecretSetSchema),
        SecretDeleted: schema(SecretDeletedSchema),
        TopicEntries: schema(TopicEntriesSchema),
        ResultEntries: schema(ResultEntriesSchema),
      },
    },
    paths: {
      '/functions/{name}/invoke': {
        post: {
          summary: 'Invoke a function: the JSON body is its event, its JSON result the response',
          parameters: [
            nameParam,
            {
              name: 'async',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['true'] },
            },
          ],
          requestBody: anyJson,
          responses: {
            '200': {
              description: 'the function result',
              headers: invocationHeaders,
              content: { 'application/json': { schema: {} } },
            },
            '202': ok('queued (async=true)', 'AsyncAccepted'),
            ...errors(400, 401, 404, 409, 413, 429, 500, 502, 503, 504),
          },
        },
      },
      '/function/{name}': functionRoute(false),
      '/function/{name}/{path}': functionRoute(true),
      '/functions': {
        get: {
          summary: 'Deployed functions',
          responses: { '200': ok('the functions', 'FunctionList') },
        },
      },
      '/functions/{name}': {
        get: {
          summary: 'One function',
          parameters: [nameParam],
          responses: { '200': ok('the function', 'FunctionInfo'), ...errors(400, 404) },
        },
        delete: {
          summary: 'Remove the function: its folder leaves the functions directory',
          security: admin,
          parameters: [nameParam],
          responses: { '200': ok('{ name, removed: true }'), ...errors(400, 401, 403, 404) },
        },
      },
      '/functions/{name}/source': {
        put: {
          summary:
            'Remote deploy: the function folder as a tar or tar.gz (at most 20 MiB; 100 MiB and 10,000 files unpacked; regular files and directories only)',
          security: admin,
          parameters: [nameParam],
          requestBody: {
            required: true,
            content: {
              'application/octet-stream': {
                schema: { type: 'string', contentMediaType: 'application/gzip' },
              },
            },
          },
          responses: {
            '200': ok(
              '{ name, deployed: true, function: FunctionInfo, files }: the uploaded version serves',
            ),
            '422': ok(
              '{ name, deployed: false, function: FunctionInfo, files }: written, but it failed (update_failed, or invalid)',
            ),
            ...errors(400, 401, 403, 413),
          },
        },
      },
      '/functions/{name}/pool': {
        put: {
          summary: 'Change pool knobs live',
          security: admin,
          parameters: [nameParam],
          requestBody: { required: true, content: json('PoolUpdate') },
          responses: {
            '200': ok('the function with its new pool', 'FunctionInfo'),
            ...errors(400, 401, 404, 409),
          },
        },
        delete: {
          summary: "Back to the manifest's pool settings",
          security: admin,
          parameters: [nameParam],
          responses: { '200': ok('the function', 'FunctionInfo'), ...errors(401, 404, 409) },
        },
      },
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
      '/secrets': {
        get: {
          summary: 'Secret names and when each was set (never a value)',
          security: admin,
          responses: { '200': ok('the secrets', 'SecretList'), ...errors(401) },
        },
      },
      '/secrets/{name}': {
        put: {
          summary: `Set a secret: the body is its value, as bytes (at most ${MAX_SECRET_BYTES}); functions naming it roll`,
          security: admin,
          parameters: [secretParam],
          requestBody: {
            required: true,
            content: {
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
            },
          },
          responses: {
            '200': ok('updated', 'SecretSet'),
            '201': ok('created', 'SecretSet'),
            ...errors(400, 401, 413),
          },
        },
        delete: {
          summary: 'Remove a secret; functions naming it roll (and fail to deploy without it)',
          security: admin,
          parameters: [secretParam],
          responses: { '200': ok('removed', 'SecretDeleted'), ...errors(400, 401, 404) },
        },
      },
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
      '/reload': {
        post: {
          summary: 'Rescan the functions directory',
          security: admin,
          responses: { '200': ok('the functions', 'FunctionList'), ...errors(401) },
        },
      },
      '/healthz': {
        get: {
          summary: 'Engine and trigger state',
          description:
            '`serving`: `ready`, `degraded` (serves invocations; Redis, a pool or a file source is not right) or `unavailable` (503). With an admin token configured, callers without it get only `status` and `serving`.',
          responses: {
            '200': ok('serving (ready or degraded)'),
            '503': ok('the engine does not answer'),
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: {
            '200': {
              description: 'text exposition format',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', responses: { '200': ok('OpenAPI 3.1') } },
      },
      '/stats/functions': {
        get: {
          summary:
            'Per function over the last minute: calls, errors and cold starts per minute, latency p50/p99 (what the dashboard shows)',
          responses: { '200': ok('rates', 'FunctionRates') },
        },
      },
      '/stats/functions/{name}': {
        get: {
          summary:
            "One function's rates now and over the last minutes, and its resolved manifest (no env, config or paths)",
          parameters: [nameParam],
          responses: { '200': ok('its figures', 'FunctionStats'), ...errors(400, 404) },
        },
      },
      '/stats/events': {
        get: {
          summary:
            'Topics and the functions they trigger, consumer lag per topic and per function queue',
          responses: { '200': ok('the event topology', 'EventsStats') },
        },
      },
      '/ui': {
        get: {
          summary:
            'The dashboard (HTML; its script and style sheet are /ui/app.js and /ui/app.css)',
          responses: {
            '200': {
              description: 'the page',
              content: { 'text/html': { schema: { type: 'string' } } },
            },
          },
        },
      },
    },
  };
}
