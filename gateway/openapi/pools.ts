// /openapi.json paths of the live pool knobs (PUT and DELETE /functions/{name}/pool).
import { admin, errors, json, nameParam, ok } from './parts.ts';

export function poolPaths(): Record<string, unknown> {
  return {
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
  };
}
