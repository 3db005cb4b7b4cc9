// ContainerEngine over the Docker Engine API (dockerode). Podman's Docker-compatible socket works
// through the same code. The API version is left unpinned so an older engine is spoken to in its own.
// Split out: the create body (create-options.ts), log files (docker-logs.ts), images (docker-images.ts).
import Docker from 'dockerode';
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
import { pingEngine, type PingTarget } from './ping.ts';
import { TitanError } from '../errors.ts';
import { toCreateOptions, toLimits } from './create-options.ts';
import { demuxToText, followLogFiles } from './docker-logs.ts';
import { buildImage, pullImage } from './docker-images.ts';

export { toCreateOptions, toLimits } from './create-options.ts';

type EngineError = Error & { statusCode?: number };
const statusOf = (err: unknown): number | undefined => (err as EngineError)?.statusCode;

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
    return followLogFiles(this.docker, id, onLine);
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

  pullImage(ref: string, timeoutMs: number): Promise<void> {
    return pullImage(this.docker, ref, timeoutMs);
  }

  buildImage(contextDir: string, files: string[], tag: string, dockerfile?: string): Promise<void> {
    return buildImage(this.docker, contextDir, files, tag, dockerfile);
  }
}
