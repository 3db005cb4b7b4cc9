// An in-memory ContainerEngine for fast unit tests of the deploy state machine: no engine and no real
// container. The seam is the dial-in socket: run() starts a stand-in for the bootstrap in this process
// that dials the socket the gateway listens on (the host side of the spec's /run/titan bind) and
// answers /healthz and /invoke there (and a stem cell's /specialize), as the real bootstrap does. So FunctionContainer, Pool and
// Deployment run unchanged on top of it; only what happens inside the container is played.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type {
  ContainerEngine,
  ContainerLimits,
  ContainerLogLine,
  ContainerSpec,
  ContainerSummary,
  EngineInfo,
  ExitInfo,
  LogFollow,
} from '../../runtime/engine/engine.ts';
import { CONTAINER_SOCKET_DIR, HEADER, ROUTE, SOCKET_FILE } from '../../runtime/protocol.ts';
import { LABEL } from '../../runtime/sandbox.ts';
import { engineRuntimeFor } from '../../runtime/engine/runtimes.ts';

/** What one container does, chosen per container by FakeEngine.behaviour. */
export interface FakeBehaviour {
  /** the stand-in dials in once this resolves: until then the container is starting */
  ready?: Promise<void>;
  /** how the start ends; default: the handler loads and the container serves */
  fail?: { load: string } | { exitCode: number } | { engine: string };
  /** answers an invocation (a throw is the handler's error); default: `{ fn, version }` of the container */
  handle?: (event: unknown, container: FakeContainer) => unknown;
  /** the engine refuses to change this container's limits, with this message */
  failUpdate?: string;
  /** a stem cell (TITAN_STEM=1) told to become a function: how loading it ends; default it loads */
  onSpecialize?: (
    env: Record<string, string>,
  ) => { load: string } | { exitCode: number; oomKilled?: boolean } | undefined;
}

export type FakeState = 'running' | 'exited' | 'removed';

export class FakeContainer {
  state: FakeState = 'running';
  /** invocations answered or under way */
  invocations = 0;
  readonly exited: Promise<ExitInfo>;
  readonly lines: ContainerLogLine[] = [];
  /** its limits now: the spec's, then what update() set */
  limits: ContainerLimits;
  /** every update() it received, in order */
  readonly updates: ContainerLimits[] = [];
  /** a stem cell's specialize requests: the environment each one brought (the first one made it the function) */
  readonly specializeRequests: Array<Record<string, string>> = [];
  private loadFailure?: string;
  private readonly followers = new Set<(line: ContainerLogLine) => void>();
  private readonly enders = new Set<() => void>();
  private resolveExit!: (e: ExitInfo) => void;
  private readonly sockets = new Set<Socket>();
  private readonly fresh = new WeakSet<Socket>();
  private readonly server = createServer((req, res) => void this.serve(req, res));

  constructor(
    readonly id: string,
    readonly spec: ContainerSpec,
    readonly behaviour: FakeBehaviour,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    const { cpuShare, cpuLimit, memoryBytes, pidsLimit } = spec;
    this.limits = { cpuShare, cpuLimit, memoryBytes, pidsLimit };
    // The gateway owns connection lifetime, as with the real bootstrap.
    this.server.keepAliveTimeout = 0;
    this.server.requestTimeout = 0;
    this.server.on('request', (req: IncomingMessage) => {
      if (!this.fresh.delete(req.socket as Socket)) return;
      this.dial(); // the gateway took the spare connection: keep one dialed ahead
    });
  }

  /** Its function: by label, or for a stem cell the one it was specialized as ('' before). */
  get fn(): string {
    return this.spec.labels[LABEL.fn] ?? this.specializeRequests[0]?.TITAN_FUNCTION ?? '';
  }

  get isStemCell(): boolean {
    return this.spec.env.TITAN_STEM === '1';
  }

  get version(): string {
    return this.spec.labels[LABEL.version] ?? '';
  }

  /** Where the gateway listens for this container: the host side of its /run/titan bind. */
  get socketPath(): string {
    const bind = this.spec.binds.find((b) => b.containerPath === CONTAINER_SOCKET_DIR);
    if (!bind)
      throw new Error(
        `fake engine: container ${this.spec.name} has no ${CONTAINER_SOCKET_DIR} bind`,
      );
    return join(bind.hostPath, SOCKET_FILE);
  }

  async boot(): Promise<void> {
    await this.behaviour.ready;
    const fail = this.behaviour.fail;
    if (fail && 'exitCode' in fail)
      return this.exit(
        { exitCode: fail.exitCode, oomKilled: false },
        `exited with code ${fail.exitCode} while starting`,
      );
    if (this.state === 'running') this.dial();
  }

  /** The process ends (crash, OOM kill, removal): connections drop, waitExit resolves. */
  exit(info: ExitInfo, why = `exited with code ${info.exitCode}`): void {
    if (this.state !== 'running') return;
    this.state = 'exited';
    this.log('stderr', `fake container ${why}`);
    for (const s of this.sockets) s.destroy();
    this.server.close();
    this.resolveExit(info);
  }

  follow(onLine: (line: ContainerLogLine) => void): LogFollow {
    for (const line of this.lines) onLine(line);
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    if (this.state === 'removed') end();
    this.followers.add(onLine);
    this.enders.add(end);
    const stop = () => {
      this.followers.delete(onLine);
      this.enders.delete(end);
      end();
    };
    void ended.then(stop);
    return { stop, ended };
  }

  /** Removed by the engine: following its output ends, as the engine ends a log stream. */
  removed(): void {
    this.exit({ exitCode: 137, oomKilled: false }, 'killed (removed)');
    this.state = 'removed';
    for (const end of [...this.enders]) end();
  }

  private log(stream: ContainerLogLine['stream'], text: string): void {
    const line = { stream, text, time: Date.now() };
    this.lines.push(line);
    for (const f of this.followers) f(line);
  }

  private dial(): void {
    if (this.state !== 'running') return;
    const s = connect(this.socketPath);
    s.on('error', () => {}); // the gateway let go of this container: 'close' follows
    s.once('connect', () => {
      this.sockets.add(s);
      this.fresh.add(s);
      this.server.emit('connection', s);
    });
    s.once('close', () => this.sockets.delete(s));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const fail = this.behaviour.fail;
    const stem = this.isStemCell && this.specializeRequests.length === 0;
    const health = () => {
      const load = fail && 'load' in fail ? fail.load : this.loadFailure;
      if (load) return json(res, 500, { ok: false, error: { name: 'SyntaxError', message: load } });
      return json(
        res,
        200,
        this.isStemCell && this.specializeRequests.length === 0
          ? { ok: true, stem: true }
          : { ok: true },
      );
    };
    if (req.url === ROUTE.health) return health();
    if (req.method === 'POST' && req.url === ROUTE.specialize) {
      if (!stem)
        return json(res, 409, {
          ok: false,
          error: {
            name: 'StemCellError',
            message: this.isStemCell
              ? `refused: already specialized as '${this.fn}'`
              : 'refused: not a stem cell',
          },
        });
      const { env } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        env: Record<string, string>;
      };
      this.specializeRequests.push(env);
      const outcome = this.behaviour.onSpecialize?.(env);
      if (outcome && 'exitCode' in outcome)
        return this.exit(
          { exitCode: outcome.exitCode, oomKilled: outcome.oomKilled ?? false },
          `exited with code ${outcome.exitCode} while loading`,
        );
      if (outcome) this.loadFailure = outcome.load;
      return health();
    }
    if (req.method !== 'POST' || req.url !== ROUTE.invoke) return json(res, 404, {});
    if (stem) {
      const message =
        'this container is a stem cell with no function loaded: it serves invocations only once the gateway specialized it';
      return json(res, 200, { name: 'StemCellError', message }, { [HEADER.outcome]: 'error' });
    }
    this.invocations++;
    const { event } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: unknown };
    try {
      const result = await (
        this.behaviour.handle ?? (() => ({ fn: this.fn, version: this.version }))
      )(event, this);
      json(res, 200, result ?? null, { [HEADER.outcome]: 'ok' });
    } catch (err) {
      json(
        res,
        200,
        { name: (err as Error).name, message: (err as Error).message },
        { [HEADER.outcome]: 'error' },
      );
    }
  }
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    })
    .end(text);
}

export class FakeEngine implements ContainerEngine {
  /** every container ever run, by id, removed ones included (state 'removed') */
  readonly containers = new Map<string, FakeContainer>();
  /** picks what each new container does; tests swap it between steps */
  behaviour: (spec: ContainerSpec) => FakeBehaviour = () => ({});
  private readonly images = new Map<string, Record<string, string>>();
  /** the runtimes this engine says it has (dockerd without daemon.json runtimes: runc only) */
  registeredRuntimes: string[] = ['runc'];

  /** Containers not removed, optionally of one function. */
  live(fn?: string): FakeContainer[] {
    return [...this.containers.values()].filter(
      (c) => c.state !== 'removed' && (fn === undefined || c.fn === fn),
    );
  }

  /** A container this engine knows but did not start here: what an earlier gateway left running. */
  leftBehind(labels: Record<string, string>): FakeContainer {
    const c = new FakeContainer(
      `left-${randomBytes(4).toString('hex')}`,
      { labels, binds: [] } as unknown as ContainerSpec,
      {},
    );
    this.containers.set(c.id, c);
    return c;
  }

  async ping(): Promise<EngineInfo> {
    return { serverVersion: 'fake', apiVersion: 'fake', os: 'linux' };
  }

  async runtimes(): Promise<string[]> {
    return [...this.registeredRuntimes];
  }

  async run(spec: ContainerSpec): Promise<string> {
    // as dockerd answers a create naming a runtime it does not have
    const runtime = engineRuntimeFor(spec.isolation);
    if (runtime && !this.registeredRuntimes.includes(runtime))
      throw new Error(`(HTTP code 400) unknown or invalid runtime name: ${runtime}`);
    const behaviour = this.behaviour(spec);
    if (behaviour.fail && 'engine' in behaviour.fail) throw new Error(behaviour.fail.engine);
    const c = new FakeContainer(`fake-${randomBytes(6).toString('hex')}`, spec, behaviour);
    this.containers.set(c.id, c);
    void c.boot();
    return c.id;
  }

  async update(id: string, limits: ContainerLimits): Promise<void> {
    const c = this.containers.get(id);
    if (c?.state !== 'running') throw new Error(`fake engine: no running container ${id}`);
    if (c.behaviour.failUpdate) throw new Error(c.behaviour.failUpdate);
    c.updates.push({ ...limits });
    c.limits = { ...limits };
  }

  async remove(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c || c.state === 'removed') return; // already gone counts as removed
    c.removed();
  }

  waitExit(id: string): Promise<ExitInfo> {
    return this.containers.get(id)?.exited ?? Promise.resolve({ exitCode: -1, oomKilled: false });
  }

  async logs(id: string, tail: number): Promise<string> {
    return (this.containers.get(id)?.lines ?? [])
      .slice(-tail)
      .map((l) => l.text)
      .join('\n');
  }

  followLogs(id: string, onLine: (line: ContainerLogLine) => void): LogFollow {
    const c = this.containers.get(id);
    return c ? c.follow(onLine) : { stop: () => {}, ended: Promise.resolve() };
  }

  async listByLabels(labels: Record<string, string>): Promise<ContainerSummary[]> {
    return this.live()
      .filter((c) => Object.entries(labels).every(([k, v]) => c.spec.labels[k] === v))
      .map((c) => ({ id: c.id, name: c.spec.name, labels: c.spec.labels }));
  }

  async imageLabels(ref: string): Promise<Record<string, string> | undefined> {
    return this.images.get(ref);
  }

  async pullImage(ref: string): Promise<void> {
    throw new Error(`fake engine: no registry to pull ${ref} from`);
  }

  async buildImage(_contextDir: string, _files: string[], tag: string): Promise<void> {
    this.images.set(tag, {});
  }
}

/** A promise and the function that resolves it, for holding a container's start or a call at a step. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
