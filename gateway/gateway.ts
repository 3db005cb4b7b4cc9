// Assembles one gateway (registry, metrics, invoker, HTTP app) and owns its lifecycle:
// start → listen → close, where close drains every pool and removes every container.
import { getRequestListener, type ServerType } from '@hono/node-server';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type { RuntimeConfig } from '../runtime/config.ts';
import type { ContainerEngine } from '../runtime/engine/engine.ts';
import { LogStore } from '../runtime/logs.ts';
import { Metrics } from '../runtime/metrics.ts';
import { Registry } from '../runtime/registry.ts';
import { createApp } from './app.ts';
import { FailingPools } from './health.ts';
import { SecretStore, secretsDirOf } from '../runtime/secrets.ts';
import { fastInvoke } from './fast-invoke.ts';
import { createInvoker, type Invoke } from './invoke.ts';
import { EventSystem } from './events/event-system.ts';
import { isLoopback, TokenCheck } from './auth.ts';
import { BrowserPolicy } from './origin.ts';
import { TitanError } from '../runtime/errors.ts';
import { FsSource, type SourceStatus } from './sources/fs-source.ts';
import { Scheduler } from './schedules/scheduler.ts';
import { RemoteDeploy } from './deploy/remote-deploy.ts';
import { LocalTicks, RedisTicks } from './schedules/ticks.ts';
import { hostname } from 'node:os';
import { scopeOf } from '../runtime/scope.ts';

export interface GatewayOptions {
  config: RuntimeConfig;
  engine: ContainerEngine;
  log?: Logger;
  /** collect Node process metrics (off in tests that build many gateways) */
  processMetrics?: boolean;
  /** Redis for events; wins over REDIS_URL and the config */
  redisUrl?: string;
  /** bearer token for management routes and `auth: token` functions; default TITAN_ADMIN_TOKEN */
  adminToken?: string;
}

/** Containers are labelled with a scope of the state directory (runtime/scope.ts): one gateway, one scope. */
export { scopeOf } from '../runtime/scope.ts';

export class Gateway {
  readonly registry: Registry;
  readonly metrics: Metrics;
  readonly invoke: Invoke;
  readonly events: EventSystem;
  /** the containers' output, per function and invocation (in memory, bounded) */
  readonly logs: LogStore;
  readonly app;
  readonly log: Logger;
  /** `sources:` from the config: directories whose files become events */
  readonly sources: FsSource[];
  /** runs the functions that have a `schedule:`; set once started */
  scheduler?: Scheduler;
  private server?: ServerType;
  private auth!: TokenCheck;
  private browser!: BrowserPolicy;
  private closing?: Promise<void>;

  constructor(readonly opts: GatewayOptions) {
    const { config, engine } = opts;
    this.log = opts.log ?? pino({ name: 'titan' });
    let registry: Registry | undefined;
    const failingPools = new FailingPools();
    this.logs = new LogStore({ maxLinesPerFunction: config.logs.maxLinesPerFunction });
    this.metrics = new Metrics(() => registry?.list() ?? [], {
      processMetrics: opts.processMetrics ?? true,
    });
    registry = this.registry = new Registry({
      config,
      engine,
      scope: scopeOf(config.stateDir),
      onPoolEvent: (fn, e) => {
        this.metrics.onPoolEvent(fn, e);
        failingPools.onPoolEvent(fn, e);
        if (e.kind === 'start_failed')
          this.log.warn({ fn, reason: e.reason, err: e.error.message }, 'container start failed');
        // Autoscaling decisions: growth on demand and shrinking of idle extras are worth a line each.
        else if (e.kind === 'started' && e.reason === 'demand')
          this.log.info({ fn, ms: e.ms }, 'pool scaled up');
        else if (e.kind === 'stopped' && (e.why === 'idle' || e.why === 'scaled_down'))
          this.log.info({ fn, why: e.why }, 'pool scaled down');
        else this.log.debug({ fn, ...e }, 'pool');
      },
      log: (msg, fields) => this.log.info(fields ?? {}, msg),
      warn: (msg, fields) => this.log.warn(fields ?? {}, msg),
      logs: this.logs,
    });
    const events = new EventSystem({
      config,
      registry,
      log: (msg, fields) => this.log.info(fields ?? {}, msg),
      promRegistry: this.metrics.registry,
      redisUrl: opts.redisUrl,
    });
    this.events = events;
    this.sources = config.sources.map(
      (source) =>
        new FsSource({
          config: source,
          stateDir: config.stateDir,
          publish: (topic, type, dataJson, src) => events.publish(topic, type, dataJson, src),
          log: (msg, fields) => this.log.info({ source: `fs:${source.path}`, ...fields }, msg),
        }),
    );
    this.invoke = createInvoker({
      registry,
      metrics: this.metrics,
      log: this.log,
      publishEmits: (fn, emits) => events.publishEmits(fn, emits),
    });
    this.auth = new TokenCheck(opts.adminToken ?? (process.env.TITAN_ADMIN_TOKEN || undefined));
    this.browser = new BrowserPolicy({
      loopbackOnly: isLoopback(config.gateway.host),
      allowedHosts: config.gateway.allowedHosts,
      cors: config.gateway.cors,
    });
    this.app = createApp({
      registry,
      engine,
      metrics: this.metrics,
      invoke: this.invoke,
      events,
      logs: this.logs,
      log: this.log,
      sources: () => this.sourceStatus(),
      failingPools,
      maxBodyBytes: config.gateway.maxBodyBytes,
      secrets: new SecretStore(secretsDirOf(config.stateDir)),
      remoteDeploy: new RemoteDeploy({
        config,
        registry,
        log: (msg, fields) => this.log.info(fields ?? {}, msg),
      }),
      auth: this.auth,
      browser: this.browser,
    });
  }

  /** Clean up orphans, deploy the functions directory and start watching it; then the file sources. */
  async start(): Promise<void> {
    await this.opts.engine.ping();
    // Before any deploy: a function mounting a source directory that does not exist yet would have the
    // engine create it, owned by root. A source that cannot create it reports `failed` and stays off.
    for (const s of this.sources) await s.prepare();
    await this.registry.start();
    await this.events.start(this.invoke);
    const { state, reason } = this.events.health();
    this.startScheduler(state === 'disabled');
    for (const s of this.sources) {
      // Without an event system every publish would fail until the process ends: say so once instead.
      if (state === 'disabled') s.disable(reason ?? 'events are disabled');
      else await s.start();
    }
    if (state === 'disabled' && this.sources.length > 0)
      this.log.warn({ reason }, 'file sources are off: no event system');
  }

  /** With Redis, each tick runs on one gateway of those sharing it; without, every gateway runs its own. */
  private startScheduler(noRedis: boolean): void {
    const events = this.events;
    this.scheduler = new Scheduler({
      registry: this.registry,
      invoke: this.invoke,
      ticks: noRedis
        ? new LocalTicks()
        : new RedisTicks(
            () => events.redis(),
            this.opts.config.events.keyPrefix,
            `${hostname()}:${process.pid}`,
          ),
      promRegistry: this.metrics.registry,
      log: (level, msg, fields) => this.log[level](fields ?? {}, msg),
    });
    this.scheduler.start();
  }

  sourceStatus(): SourceStatus[] {
    return this.sources.map((s) => s.status());
  }

  /** Listen on the configured host and port; resolves with the bound port. */
  listen(): Promise<number> {
    const gateway = this.opts.config.gateway;
    const { host, port } = gateway;
    if (!isLoopback(host) && !this.auth.configured) {
      return Promise.reject(
        new TitanError(
          'invalid_config',
          `refusing to listen on ${host} without an admin token: set TITAN_ADMIN_TOKEN, or listen on 127.0.0.1`,
        ),
      );
    }
    // POST /functions/:name/invoke skips Hono's Web Request/Response layer; the rest is Hono's.
    const listener = fastInvoke({
      registry: this.registry,
      invoke: this.invoke,
      log: this.log,
      auth: this.auth,
      browser: this.browser,
      maxBodyBytes: gateway.maxBodyBytes,
      fallback: getRequestListener(this.app.fetch, { hostname: host }),
    });
    // Slow clients hold a connection each: headers and the whole request (not the function's run)
    // must arrive in time, or Node answers 408 and closes it. Node looks at its connections every
    // connectionsCheckingInterval (30 s by default), so that sets how late a timeout may fire.
    const headersTimeout = gateway.headersTimeoutSec * 1000;
    const server = createServer(
      {
        headersTimeout,
        requestTimeout: gateway.requestTimeoutSec * 1000,
        keepAliveTimeout: gateway.keepAliveTimeoutSec * 1000,
        connectionsCheckingInterval: Math.min(1000, headersTimeout / 2),
      },
      listener,
    );
    // Past the cap, Node closes each new connection as soon as it is accepted ('drop'): one line per
    // burst in the log, not one per connection of a flood.
    server.maxConnections = gateway.maxConnections;
    let dropLogged = 0;
    server.on('drop', () => {
      if (Date.now() - dropLogged < 10_000) return;
      dropLogged = Date.now();
      this.log.warn(
        { max_connections: gateway.maxConnections },
        'connections refused: gateway.max_connections reached',
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      this.server = server;
    });
  }

  /** Stop listening, drain and remove every container. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // Sources first: nothing new is published while the rest shuts down. Each one saves its index.
      await Promise.allSettled(this.sources.map((s) => s.close()));
      const server = this.server;
      this.logs.close(); // ends `follow` streams, which would otherwise keep the server from closing
      if (server) await new Promise<void>((r) => server.close(() => r()));
      await this.scheduler?.close(); // before the event system: a run's claim and emits use Redis
      await this.events.close();
      await this.registry.close();
    })();
    return this.closing;
  }
}
