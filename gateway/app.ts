// The HTTP surface of the gateway (Hono). Routes stay thin: they parse, call the invoker or the
// registry, and throw; errors become responses in one onError.
import type { IncomingMessage } from 'node:http';
import { Hono, type Context, type Handler, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import type { ContainerEngine } from '../runtime/engine/engine.ts';
import { TitanError } from '../runtime/errors.ts';
import type { Metrics } from '../runtime/metrics.ts';
import type { Registry } from '../runtime/registry.ts';
import { errorResponse } from './http-errors.ts';
import { checkEventJson, resolveFunction, validateName, type Invoke } from './invoke.ts';
import type { EventSystem } from './events/event-system.ts';
import { eventRoutes } from './routes/events.ts';
import { logRoutes } from './routes/logs.ts';
import type { LogStore } from '../runtime/logs.ts';
import { poolRoutes } from './routes/pools.ts';
import { secretRoutes } from './routes/secrets.ts';
import { deployRoutes } from './routes/deploy.ts';
import type { RemoteDeploy } from './deploy/remote-deploy.ts';
import { streamRoutes } from './routes/streams.ts';
import type { SecretStore } from '../runtime/secrets.ts';
import type { TokenCheck } from './auth.ts';
import type { BrowserPolicy } from './origin.ts';
import { openApiDocument } from './openapi.ts';
import { FunctionRoute, type FunctionCall } from './http-function/route.ts';
import { managementRefused, mayInvoke, pageStarted } from './pages.ts';
import { createRequire } from 'node:module';
import { uiRoutes } from './ui/routes.ts';
import { type FailingPools, Health } from './health.ts';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

export interface AppDeps {
  registry: Registry;
  engine: ContainerEngine;
  metrics: Metrics;
  invoke: Invoke;
  events: EventSystem;
  logs: LogStore;
  log: Logger;
  /** file sources' status for /healthz */
  sources?: () => unknown[];
  /** pools failing to start containers, for /healthz (fed by the registry's pool events) */
  failingPools?: FailingPools;
  maxBodyBytes: number;
  auth: TokenCheck;
  /** Host and Origin checks, CORS: the first thing every request meets */
  browser: BrowserPolicy;
  /** secrets by name (runtime/secrets.ts): the admin routes /secrets write it */
  secrets: SecretStore;
  /** PUT /functions/:name/source, DELETE /functions/:name (admin); absent: no remote deploy */
  remoteDeploy?: RemoteDeploy;
}

export function createApp({
  registry,
  engine,
  metrics,
  invoke,
  events,
  logs,
  log,
  sources = () => [],
  failingPools,
  maxBodyBytes,
  auth,
  browser,
  secrets,
  remoteDeploy,
}: AppDeps): Hono {
  const app = new Hono();

  app.onError((err, c) => {
    if (!(err instanceof TitanError)) log.error({ err, path: c.req.path }, 'unhandled error');
    return errorResponse(c, err);
  });
  app.notFound((c) =>
    errorResponse(c, new TitanError('not_found', `no route ${c.req.method} ${c.req.path}`)),
  );
  // Before every route and every other middleware: a page of another site, or one reaching us under
  // a rebound name, is refused before any body is read or any token is looked at.
  app.use('*', browser.middleware());

  const tooLarge = () => {
    throw new TitanError(
      'payload_too_large',
      `request body is larger than the ${maxBodyBytes}-byte limit`,
    );
  };
  const streamingLimit = bodyLimit({ maxSize: maxBodyBytes, onError: tooLarge });
  // A declared length settles it without touching the body. Hono's bodyLimit reads `req.raw.body`
  // first, which makes @hono/node-server build a full web Request and stream for every call and
  // loses its direct read in `c.req.text()`: ~40% of the gateway's CPU per warm call (bench/README.md).
  const limit: MiddlewareHandler = (c, next) => {
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined)
      return streamingLimit(c, next);
    return Number(length) > maxBodyBytes ? tooLarge() : next();
  };

  /** Whether a web page started this request (gateway/pages.ts); the browser policy has let it in. */
  const fromPage = (c: Context): boolean => {
    const header = (name: string) => c.req.header(name);
    return pageStarted(header, browser.check({ method: c.req.method, header }));
  };

  // Management routes need the admin token when one is configured, and answer no page (pages.ts).
  // GET /invocations/:id (an async call's result) is not one: its id is an unguessable UUID that
  // only the caller was given.
  const admin = auth.admin();
  const noPages: MiddlewareHandler = (c, next) => {
    if (fromPage(c)) throw managementRefused();
    return next();
  };
  for (const path of [
    '/reload',
    '/functions/:name/pool',
    '/functions/:name/logs',
    '/invocations/:id/logs',
    '/events/*',
    '/dlq',
    '/dlq/*',
    '/results',
    '/secrets',
    '/secrets/*',
  ]) {
    app.use(path, noPages, admin);
  }

  app.post('/functions/:name/invoke', limit, async (c) => {
    const name = c.req.param('name');
    validateName(name); // before reading the body: a bad name is refused cheaply
    const dep = registry.get(name);
    if (dep) mayInvoke(auth, dep.spec, c.req.header('authorization'), fromPage(c));
    if (c.req.query('async') === 'true') {
      // Refuse now what could never run: an async call is never accepted and then silently lost.
      resolveFunction(registry, name);
      const invocationId = await events.enqueueAsync(name, checkEventJson(await c.req.text()));
      return c.json({ invocationId }, 202, {
        'x-invocation-id': invocationId,
        location: `/invocations/${invocationId}`,
      });
    }
    const out = await invoke({ name, eventJson: await c.req.text(), trigger: { kind: 'http' } });
    return c.body(out.resultJson, 200, {
      'content-type': 'application/json',
      'x-invocation-id': out.invocationId,
      'x-cold-start': String(out.cold),
    });
  });

  // `/function/<name>/<path>`: the same FunctionRoute as the fast path's (fast-invoke.ts), which
  // serves these over a port unless the body is chunked or too large, or the target needs resolving.
  const functions = new FunctionRoute({ registry, invoke, auth, log });
  const functionRoute: Handler = async (c) => {
    // Over a port, the request as sent (@hono/node-server's bindings); in-process, as the URL reads it.
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const url = new URL(c.req.url);
    const call: FunctionCall = {
      method: c.req.method,
      url: incoming?.url ?? url.pathname + url.search,
      header: (name) => c.req.header(name),
      headerLines: () => incoming?.rawHeaders ?? [...c.req.raw.headers].flat(),
      fromPage: fromPage(c),
    };
    const admitted = functions.admit(call);
    const body = new Uint8Array(await c.req.arrayBuffer());
    const answer = await functions.serve(admitted, call, body);
    // A 204, 205 or 304 has a null body (the Response constructor insists); Hono drops a HEAD's itself.
    const out =
      answer.body === ''
        ? null
        : typeof answer.body === 'string'
          ? answer.body
          : new Uint8Array(answer.body.buffer, answer.body.byteOffset, answer.body.length);
    return new Response(out as BodyInit | null, { status: answer.status, headers: answer.headers });
  };
  app.all('/function/:name', limit, functionRoute);
  app.all('/function/:name/*', limit, functionRoute);

  app.get('/functions', (c) => c.json({ functions: registry.list() }));

  app.get('/functions/:name', (c) => {
    const name = c.req.param('name');
    validateName(name);
    const info = registry.info(name);
    if (!info) throw new TitanError('not_found', `no function named '${name}'`);
    return c.json(info);
  });

  // For load balancers (gateway/health.ts): details only for whoever may see the management routes.
  const health = new Health({ engine, events, registry, sources, failingPools });
  app.get('/healthz', async (c) => {
    const full = !auth.configured || auth.holds(c.req.header('authorization'));
    const { code, body } = await health.report(full);
    return c.json(body, code);
  });

  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  );

  app.use('/functions/:name/pool', limit);
  app.route('/', poolRoutes(registry));
  let openapi: Record<string, unknown> | undefined;
  app.get('/openapi.json', (c) => {
    openapi ??= openApiDocument(version);
    return c.json(openapi);
  });
  app.use('/events/*', limit);
  app.route('/', eventRoutes(events));
  app.route('/', streamRoutes(events));
  app.route('/', logRoutes({ logs, registry }));
  app.route('/', secretRoutes({ store: secrets, rescan: () => registry.rescan() }));
  if (remoteDeploy) app.route('/', deployRoutes(remoteDeploy, [noPages, admin]));
  app.route('/', uiRoutes({ registry, events, metrics, version })); // the dashboard at /ui, and its /stats

  app.post('/reload', async (c) => {
    await registry.rescan();
    return c.json({ functions: registry.list() });
  });

  return app;
}
