// What engine answers, read from the headers of its /_ping. Not /version: Podman 4.3 runs conmon and
// the OCI runtime to answer /version (1.1-2.0 s measured here, against 0.05 s for /_ping), which a
// health check or a readiness loop with a 1 s timeout cannot wait for.
import { request } from 'node:http';
import type { EngineInfo } from './engine.ts';

/** How DockerEngine's client reaches the engine (dockerode's modem options). */
export interface PingTarget {
  socketPath?: string;
  host?: string;
  port?: number | string;
  timeout?: number;
}

/**
 * `Server: Docker/20.10.24+dfsg1 (linux)` or `Server: Libpod/4.3.1 (linux)`, and `Api-Version: 1.41`.
 * Returns undefined when the answer is not an engine's.
 */
export function engineInfoFromPing(
  headers: Record<string, string | string[] | undefined>,
): EngineInfo | undefined {
  const header = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const server = /^(Docker|Libpod)\/(\S+)(?:\s+\((\w+)\))?/i.exec(header('server') ?? '');
  const apiVersion = header('api-version');
  if (!server || !apiVersion) return undefined;
  const podman = server[1].toLowerCase() === 'libpod';
  return {
    serverVersion: podman ? (header('libpod-api-version') ?? server[2]) : server[2],
    apiVersion,
    os: header('ostype') ?? server[3] ?? 'linux',
    kind: podman ? 'podman' : 'dockerd',
  };
}

/** GET /_ping; rejects on a connection error, a timeout, or an answer that is not an engine's. */
export function pingEngine(target: PingTarget): Promise<EngineInfo> {
  const where = target.socketPath
    ? { socketPath: target.socketPath }
    : { host: target.host, port: Number(target.port) };
  return new Promise((resolve, reject) => {
    const req = request(
      { ...where, path: '/_ping', method: 'GET', timeout: target.timeout },
      (res) => {
        res.resume();
        const info = res.statusCode === 200 ? engineInfoFromPing(res.headers) : undefined;
        if (info) resolve(info);
        else
          reject(
            new Error(
              `/_ping answered ${res.statusCode} from ${res.headers.server ?? 'something that is not a container engine'}`,
            ),
          );
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer to /_ping within ${target.timeout} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}
