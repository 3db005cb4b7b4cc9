// The resource limits (setrlimit) every function container gets, set explicitly on every engine so a
// function sees the same ones on Docker and on Podman. Without them each engine picks its own: Docker
// passes on dockerd's (20,000 open files on this host, 1,048,576 on a systemd one), and Podman asks for
// 1,048,576 open files, which a container without capabilities may not set (it then fails to start).

export interface Ulimit {
  Name: 'nofile' | 'nproc';
  Soft: number;
  Hard: number;
}

/**
 * nofile: a container holds up to DIAL_IN_LIMITS.maxConnections (1024) dialed-in connections, plus
 * the runtime's own descriptors (about 30 for node) and the function's files: 4096 leaves it about
 * 3,000 to spare. Soft equals hard: without CAP_SYS_RESOURCE a function can lower them, never raise them.
 *
 * nproc: the kernel counts it per user across the whole host, not per container, and every function
 * container runs as the same user (sandbox.user). So it must not be the binding limit: it is a
 * machine-wide ceiling for that user (a container that starts while the user is over it fails at
 * exec). The per-container bound is sandbox.pids_limit (a cgroup, 64 by default). 32,768 is the most
 * Podman 4.3 can give: its service runs with that hard limit, and without CAP_SYS_RESOURCE the
 * container's runtime cannot raise it ("error setting rlimit type 6: operation not permitted").
 */
export const FUNCTION_ULIMITS: readonly Ulimit[] = [
  { Name: 'nofile', Soft: 4096, Hard: 4096 },
  { Name: 'nproc', Soft: 32_768, Hard: 32_768 },
];

/** The limits as the Engine API's HostConfig.Ulimits takes them (a fresh copy: dockerode may mutate). */
export function toUlimits(limits: readonly Ulimit[] = FUNCTION_ULIMITS): Ulimit[] {
  return limits.map((u) => ({ ...u }));
}
