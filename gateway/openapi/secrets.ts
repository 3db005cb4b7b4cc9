// /openapi.json paths of the secrets store (names and dates out, values in only).
import { MAX_SECRET_BYTES, SECRET_NAME } from '../../runtime/secrets.ts';
import { admin, errors, ok } from './parts.ts';

const secretParam = {
  name: 'name',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: SECRET_NAME.source, description: "no '..'" },
};

export function secretPaths(): Record<string, unknown> {
  return {
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
  };
}
