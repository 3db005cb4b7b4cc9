// The ContainerSpec as the Engine API's create body: where the sandbox policy becomes engine settings.
import type Docker from 'dockerode';
import type { ContainerLimits, ContainerSpec } from './engine.ts';
import { toUlimits } from './ulimits.ts';
import { engineRuntimeFor } from './runtimes.ts';

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
