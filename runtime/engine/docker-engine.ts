// ContainerEngine over the Docker Engine API (dockerode). Podman's Docker-compatible socket works
// through the same code. The API version is left unpinned so an older engine is spoken to in its own.
import Docker from 'dockerode';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import type {
  ContainerEngine,
  ContainerLimits,
  ContainerLogLine,
  ContainerSpec,
  ContainerSummary,
  EngineInfo,
  ExitInfo,
  LogFollow,
} from './engine.ts';
import { AttachedOutput } from './attached-output.ts';
import { LogLineSplitter } from './log-lines.ts';
import { toUlimits } from './ulimits.ts';
import { pingEngine, type PingTarget } from './ping.ts';
import { TitanError } from '../errors.ts';
import { engineRuntimeFor } from './runtimes.ts';

// tar-fs (dockerode's own tar packer) ships no types.
const tarFs = createRequire(import.meta.url)('tar-fs') as {
  pack(dir: string, opts: { entries: string[]; umask: number }): NodeJS.ReadableStream;
};

type EngineError = Error & { statusCode?: number };
const statusOf = (err: unknown): number | undefined => (err as EngineError)?.statusCode;

/** The limits as the Engine API spells them, at create and at update alike, so the two cannot drift. */
export function toLimits(l: ContainerLimits) {
  return {
    CpuShares: Math.max(2, Math.round(l.cpuShare * 1024)),
    NanoCpus: Math.round(l.cpuLimit * 1e9),
    Memory: l.memoryBytes,
    MemorySwap: l.memoryBytes, // equal to Memory: no swap beyond the limit
    PidsLimit: l.pidsLimit,
  };
}

/** Translate a policy spec into the Engine API's create body. */
export function toCreateOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  return {
    name: spec.name,
    Image: spec.image,
    Entrypoint: spec.entrypoint,
    Cmd: spec.cmd,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: spec.labels,
    User: spec.user,
    WorkingDir: spec.workdir,
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: spec.network,
      ReadonlyRootfs: spec.readonlyRootfs,
      CapDrop: spec.dropAllCapabilities ? ['ALL'] : [],
      SecurityOpt: spec.noNewPrivileges ? ['no-new-privileges'] : [],
      ...toLimits(spec),
      // Explicit on every engine: Podman's default cannot be set without a capability (ulimits.ts).
      Ulimits: toUlimits(),
      Binds: spec.binds.map((b) => `${b.hostPath}:${b.containerPath}:${b.readOnly ? 'ro' : 'rw'}`),
      Tmpfs: Object.fromEntries(
        spec.tmpfs.map((t) => [
          t.containerPath,
          `${t.readOnly ? 'ro' : 'rw'},size=${t.sizeBytes},mode=${t.mode.toString(8)},nosuid,nodev,noexec`,
        ]),
      ),
      // Whatever a function prints, the engine keeps at most maxFiles × maxBytes of it on disk.
      LogConfig: {
        Type: 'json-file',
        Config: { 'max-size': String(spec.log.maxBytes), 'max-file': String(spec.log.maxFiles) },
      },
      AutoRemove: false,
      RestartPolicy: { Name: 'no' },
      // Only the runtime an isolation maps to, never a name from a manifest; none: the engine's default.
      ...(engineRuntimeFor(spec.isolation) ? { Runtime: engineRuntimeFor(spec.isolation) } : {}),
    },
  };
}

export class DockerEngine implements ContainerEngine {
  private readonly docker: Docker;
  /** output of the containers this engine started, until someone follows it or it ends */
  private readonly outputs = new Map<string, AttachedOutput>();

  constructor(options?: Docker.DockerOptions) {
    this.docker = new Docker(options);
  }

  async ping(): Promise<EngineInfo> {
    try {
      return await pingEngine(this.docker.modem as PingTarget);
    } catch (err) {
      throw new TitanError(
        'engine_unavailable',
        `container engine not reachable (${(err as Error).message})`,
      );
    }
  }

  async runtimes(): Promise<string[]> {
    const info = (await this.docker.info()) as { Runtimes?: Record<string, unknown> };
    return Object.keys(info.Runtimes ?? {});
  }

  async run(spec: ContainerSpec): Promise<string> {
    const container = await this.docker.createContainer(toCreateOptions(spec));
    let output: AttachedOutput | undefined;
    try {
      // Attached before it starts: its output is read as written, from the first byte (followLogs).
      const stream = (await container.attach({
        stream: true,
        stdout: true,
        stderr: true,
      })) as unknown as NodeJS.ReadableStream & { destroy(): void };
      output = new AttachedOutput(stream, (s, out, err) =>
        this.docker.modem.demuxStream(s, out, err),
      );
      await container.start();
    } catch (err) {
      output?.close();
      await this.remove(container.id);
      throw err;
    }
    const id = container.id;
    this.outputs.set(id, output);
    void output.ended.then(() => this.outputs.delete(id));
    return id;
  }

  async update(id: string, limits: ContainerLimits): Promise<void> {
    const container = this.docker.getContainer(id);
    try {
      await container.update(toLimits(limits));
    } catch (err) {
      // Podman 4.3's Docker-compatible API has no update route: its 404 reads "no such container".
      if (
        statusOf(err) === 404 &&
        (await container.inspect().then(
          () => true,
          () => false,
        ))
      ) {
        throw new Error(
          "this engine cannot change a running container's limits (no /containers/{id}/update: Podman before 4.4)",
        );
      }
      throw err;
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      // 404: already gone; 409: removal already in progress. Both mean "it is going away".
      if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
    }
  }

  async waitExit(id: string): Promise<ExitInfo> {
    const container = this.docker.getContainer(id);
    try {
      const res = (await container.wait()) as { StatusCode: number };
      const state = await container.inspect().then(
        (i) => i.State,
        () => undefined,
      );
      return { exitCode: res.StatusCode, oomKilled: state?.OOMKilled ?? false };
    } catch {
      return { exitCode: -1, oomKilled: false };
    }
  }

  async logs(id: string, tail: number): Promise<string> {
    try {
      const buf = (await this.docker
        .getContainer(id)
        .logs({ stdout: true, stderr: true, tail, follow: false })) as Buffer;
      return demuxToText(buf);
    } catch {
      return '';
    }
  }

  followLogs(id: string, onLine: (line: ContainerLogLine) => void): LogFollow {
    const attached = this.outputs.get(id);
    if (attached) {
      this.outputs.delete(id);
      return attached.follow(onLine);
    }
    return this.followLogFiles(id, onLine);
  }

  /** A container this engine did not start: its log files, from its start (lossy where they rotate). */
  private followLogFiles(id: string, onLine: (line: ContainerLogLine) => void): LogFollow {
    let stream: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
    let stopped = false;
    let done!: () => void;
    const ended = new Promise<void>((resolve) => (done = resolve));
    void (async () => {
      try {
        // No `since`: the engine replays from the container's start, so attaching a moment after
        // `run` loses nothing. Timestamps give each line the engine's receive time.
        stream = (await this.docker
          .getContainer(id)
          .logs({ follow: true, stdout: true, stderr: true, timestamps: true })) as typeof stream;
      } catch {
        return done(); // gone already, or the engine is away: nothing to follow
      }
      if (stopped) {
        stream!.destroy();
        return done();
      }
      const splitters = (['stdout', 'stderr'] as const).map(
        (kind) => new LogLineSplitter(kind, onLine),
      );
      // demuxStream writes one whole frame (one engine log message) per write.
      const [out, err] = splitters.map(
        (s) =>
          new Writable({
            write: (frame: Buffer, _enc, cb) => {
              s.frame(frame);
              cb();
            },
          }),
      );
      this.docker.modem.demuxStream(stream!, out, err);
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        if (!stopped) for (const s of splitters) s.end();
        done();
      };
      stream!.on('end', finish);
      stream!.on('close', finish);
      stream!.on('error', finish);
    })();
    return {
      stop: () => {
        stopped = true;
        stream?.destroy();
      },
      ended,
    };
  }

  async listByLabels(labels: Record<string, string>): Promise<ContainerSummary[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const list = await this.docker.listContainers({ all: true, filters: { label } });
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      labels: c.Labels,
    }));
  }

  async imageLabels(ref: string): Promise<Record<string, string> | undefined> {
    try {
      const info = await this.docker.getImage(ref).inspect();
      return info.Config?.Labels ?? {};
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async pullImage(ref: string, timeoutMs: number): Promise<void> {
    const pull = (async () => {
      const stream = await this.docker.pull(ref);
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(stream, (err: Error | null) =>
          err ? reject(err) : resolve(),
        ),
      );
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer from the registry within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([pull, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async buildImage(
    contextDir: string,
    files: string[],
    tag: string,
    dockerfile = 'Dockerfile',
  ): Promise<void> {
    // Packed here rather than by dockerode so file modes survive as they are (umask 0): the image's
    // /tmp must stay 1777.
    const context = tarFs.pack(contextDir, { entries: files, umask: 0 });
    // No network for build steps: this engine has no bridge, and nothing we build needs one.
    const stream = await this.docker.buildImage(context, {
      t: tag,
      rm: true,
      forcerm: true,
      dockerfile,
      networkmode: 'none',
    });
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, out: Array<{ error?: string }>) => {
          const failed = err?.message ?? out.find((o) => o.error)?.error;
          failed ? reject(new Error(`image build failed: ${failed}`)) : resolve();
        },
      ),
    );
  }
}

/** Logs of a container without a TTY come multiplexed: 8-byte frame headers before each chunk. */
function demuxToText(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
