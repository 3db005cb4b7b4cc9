// /openapi.json paths for running the gateway: reload, health, metrics, this document, stats, the UI.
import { admin, errors, nameParam, ok } from './parts.ts';

export function operationPaths(): Record<string, unknown> {
  return {
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
        summary: 'The dashboard (HTML; its script and style sheet are /ui/app.js and /ui/app.css)',
        responses: {
          '200': {
            description: 'the page',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
        },
      },
    },
  };
}
