// Building blocks the /openapi.json paths share: content refs, error responses, common parameters.
import { STATUS } from '../http-errors.ts';

export const json = (ref: string) => ({
  'application/json': { schema: { $ref: `#/components/schemas/${ref}` } },
});
export const ok = (description: string, ref?: string) => ({
  description,
  ...(ref ? { content: json(ref) } : {}),
});
export const errors = (...statuses: number[]) =>
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
export const nameParam = {
  name: 'name',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,62}$' },
};
export const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
export const admin = [{ bearer: [] }];
export const anyJson = { required: false, content: { 'application/json': { schema: {} } } };
export const invocationHeaders = {
  'x-invocation-id': { schema: { type: 'string' } },
  'x-cold-start': { schema: { type: 'string', enum: ['true', 'false'] } },
};
