// Where the CPU went during a measurement: named groups of processes (gateways, redis-servers, the
// function containers, this process) and the whole machine, from /proc, as cores used on average.
import { readdirSync, readFileSync } from 'node:fs';
import type { DockerEngine } from '../../runtime/engine/docker-engine.ts';
import { LABEL } from '../../runtime/sandbox.ts';
import { scopeOf } from '../../runtime/scope.ts';
import { cpuMs } from './proc.ts';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** A group's CPU: a process gone meanwhile counts for what it had used when last read (0 if never). */
const groupMs = (pids: readonly number[]): number =>
  pids.reduce((sum, pid) => {
    try {
      return sum + cpuMs(pid);
    } catch {
      return sum;
    }
  }, 0);

/** Busy CPU of the whole machine (all cores, every process, ours and anyone's), ms. */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, ...ticks] = line.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is inside user already)
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - ticks[3]! - ticks[4]!) * TICK_MS;
}

/**
 * The processes of the containers a gateway on `stateDir` runs (functions and stem cells): found by
 * the container id in each process's cgroup path (`/docker/<id>`); none when the engine nests them
 * otherwise, which the census then shows as 0.
 */
export async function containerPids(engine: DockerEngine, stateDir: string): Promise<number[]> {
  const ids = (await engine.listByLabels({ [LABEL.scope]: scopeOf(stateDir) })).map((c) => c.id);
  if (ids.length === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cgroup: string;
    try {
      cgroup = readFileSync(`/proc/${entry}/cgroup`, 'utf8');
    } catch {
      continue; // gone, or not ours to read
    }
    if (ids.some((id) => cgroup.includes(id))) pids.push(Number(entry));
  }
  return pids;
}

export type Groups = Record<string, readonly number[]>;

/** Cores used by each group and by the machine while `work` ran (CPU ms / wall ms). */
export async function census<T>(
  groups: Groups,
  work: () => Promise<T>,
): Promise<{ result: T; cores: Record<string, number>; machine: number; wallMs: number }> {
  const before = Object.fromEntries(Object.entries(groups).map(([k, p]) => [k, groupMs(p)]));
  const machineBefore = machineBusyMs();
  const t0 = performance.now();
  const result = await work();
  const wallMs = performance.now() - t0;
  const cores: Record<string, number> = {};
  for (const [k, pids] of Object.entries(groups)) cores[k] = (groupMs(pids) - before[k]!) / wallMs;
  return { result, cores, machine: (machineBusyMs() - machineBefore) / wallMs, wallMs };
}
