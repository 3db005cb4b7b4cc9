// /openapi.json is a valid OpenAPI 3.1 document whose request schemas are the validating ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { openApiDocument } from '../../gateway/openapi.ts';

test('the document validates as OpenAPI and describes the routes with their schemas', async () => {
  const doc = openApiDocument('1.2.3');
  const api = (await SwaggerParser.validate(structuredClone(doc) as never)) as unknown as {
    openapi: string;
    paths: Record<string, Record<string, unknown>>;
    components: {
      schemas: Record<
        string,
        {
          properties?: Record<string, unknown>;
          additionalProperties?: boolean;
          required?: string[];
        }
      >;
    };
  };
  assert.equal(api.openapi, '3.1.0');
  for (const p of [
    '/functions/{name}/invoke',
    '/functions',
    '/functions/{name}/pool',
    '/events/{topic}',
    '/dlq',
    '/healthz',
    '/metrics',
    '/functions/{name}/logs',
    '/invocations/{id}/logs',
  ]) {
    assert.ok(api.paths[p], `documents ${p}`);
  }
  const pool = api.components.schemas.PoolUpdate!;
  assert.deepEqual(Object.keys(pool.properties!).sort(), ['concurrency', 'idle_sec', 'max', 'min']);
  assert.equal(
    pool.additionalProperties,
    false,
    'unknown keys are rejected, as the validator does',
  );
  assert.deepEqual(api.components.schemas.PublishEvent!.required, ['type']);
});
