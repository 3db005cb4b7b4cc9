// /openapi.json paths of the functions themselves: invoke, HTTP functions, listing, remote deploy.
import { HTTP_METHODS } from '../../runtime/spec.ts';
import { admin, anyJson, errors, invocationHeaders, nameParam, ok } from './parts.ts';

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

/** Invoking, listing, reading, removing and uploading functions. */
export function functionPaths(): Record<string, unknown> {
  return {
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
  };
}
