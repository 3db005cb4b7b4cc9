// GET /openapi.json: the API described from the same valibot schemas that validate requests and
// shape responses, so the document cannot drift from what the gateway accepts.
// The parts live in openapi/, one file per area; this file puts them together in the order served.
import { eventPaths, queuePaths } from './openapi/events.ts';
import { functionPaths } from './openapi/functions.ts';
import { logPaths } from './openapi/logs.ts';
import { operationPaths } from './openapi/operations.ts';
import { poolPaths } from './openapi/pools.ts';
import { componentSchemas } from './openapi/schemas.ts';
import { secretPaths } from './openapi/secrets.ts';

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
      schemas: componentSchemas(),
    },
    paths: {
      ...functionPaths(),
      ...poolPaths(),
      ...logPaths(),
      ...eventPaths(),
      ...secretPaths(),
      ...queuePaths(),
      ...operationPaths(),
    },
  };
}
