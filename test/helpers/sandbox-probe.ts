// The sandbox probe: a function that reports what its process can see and do. The sandbox tests run it
// in a container of its own; the stem cell tests in a specialized stem cell and compare the two.
// Reads cgroup limits under both layouts (v2 unified, v1 per-controller), whichever the engine uses.
export const PROBE = `
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const attempt = (f) => { try { f(); return 'ok'; } catch (e) { return e.code ?? String(e); } };
const firstOf = (...paths) => { for (const p of paths) { try { return readFileSync(p, 'utf8').trim(); } catch {} } return undefined; };

export default async () => {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (k) => status.match(new RegExp('^' + k + ':\\\\s*(\\\\S+)', 'm'))?.[1];
  const quota = firstOf('/sys/fs/cgroup/cpu.max') ?? [firstOf('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), firstOf('/sys/fs/cgroup/cpu/cpu.cfs_period_us')].join(' ');
  return {
    uid: process.getuid(),
    gid: process.getgid(),
    capEff: field('CapEff'),
    capPrm: field('CapPrm'),
    capBnd: field('CapBnd'),
    noNewPrivs: field('NoNewPrivs'),
    interfaces: readdirSync('/sys/class/net').sort(),
    ipv4Routes: readFileSync('/proc/net/route', 'utf8').trim().split('\\n').slice(1),
    writeRoot: attempt(() => writeFileSync('/etc/x', 'x')),
    writeCode: attempt(() => writeFileSync('/fn/x', 'x')),
    writeBootstrap: attempt(() => writeFileSync('/titan/x', 'x')),
    writeTmp: attempt(() => writeFileSync('/tmp/x', 'x')),
    readTmp: attempt(() => { if (readFileSync('/tmp/x', 'utf8') !== 'x') throw new Error('lost'); }),
    execTmp: attempt(() => { writeFileSync('/tmp/run', '#!/usr/local/bin/node\\n'); chmodSync('/tmp/run', 0o755); execFileSync('/tmp/run'); }),
    memoryLimit: Number(firstOf('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes')),
    pidsLimit: Number(firstOf('/sys/fs/cgroup/pids.max', '/sys/fs/cgroup/pids/pids.max')),
    cpuQuota: quota,
    env: { ...process.env },
    cwd: process.cwd(),
    mounts: readFileSync('/proc/self/mounts', 'utf8').trim().split('\\n').map((l) => {
      const [source, target, type, options] = l.split(' ');
      return { source, target, type, rw: options.split(',').includes('rw') };
    }),
    engineSockets: ['/var/run/docker.sock', '/run/docker.sock', '/run/podman/podman.sock'].filter((s) => attempt(() => readdirSync(s)) !== 'ENOENT'),
  };
};`;

export interface Probe {
  uid: number;
  gid: number;
  capEff: string;
  capPrm: string;
  capBnd: string;
  noNewPrivs: string;
  interfaces: string[];
  ipv4Routes: string[];
  writeRoot: string;
  writeCode: string;
  writeBootstrap: string;
  writeTmp: string;
  readTmp: string;
  execTmp: string;
  memoryLimit: number;
  pidsLimit: number;
  cpuQuota: string;
  env: Record<string, string>;
  cwd: string;
  mounts: Array<{ source: string; target: string; type: string; rw: boolean }>;
  engineSockets: string[];
}
