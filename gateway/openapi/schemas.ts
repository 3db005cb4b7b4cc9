// The component schemas of /openapi.json: JSON Schema made from the valibot schemas the routes use.
import { toJsonSchema } from '@valibot/to-json-schema';
import * as v from 'valibot';
import { FunctionInfoSchema } from '../../runtime/function-info.ts';
import { PoolUpdateSchema } from '../../runtime/pool-overrides.ts';
import { STATUS } from '../http-errors.ts';
import { PublishBody } from '../routes/events.ts';
import { LogLineSchema } from '../../runtime/logs.ts';
import { SecretDeletedSchema, SecretListSchema, SecretSetSchema } from '../routes/secrets.ts';
import { ResultEntriesSchema, TopicEntriesSchema } from '../routes/streams.ts';
import {
  EventsStatsSchema,
  FunctionRatesListSchema,
  FunctionStatsSchema,
} from '../ui/stats-schema.ts';

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

/** `components.schemas`: each name is what the paths `$ref`. */
export function componentSchemas(): Record<string, unknown> {
  return {
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
  };
}
