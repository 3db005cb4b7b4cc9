// What the figures ran on: cores, load average (before and after), Node, the container engine, Redis.
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  cores: number;
  cpu: string;
  memory_gib: number;
  node: string;
  engine: string;
  redis: string | null;
  /** 1, 5 and 15-minute load averages when the run started, and when it ended */
  load_start: number[];
  load_end?: number[];
}

export function machineInfo(engine: string, redis: string | null): MachineInfo {
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memory_gib: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    engine,
    redis,
    load_start: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export const loadText = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');

export function describeMachine(m: MachineInfo): string {
  return [
    `cores ${m.cores} (${m.cpu}), memory ${m.memory_gib} GiB, node ${m.node}, engine ${m.engine}${m.redis ? `, redis ${m.redis}` : ''}`,
    `load average (1/5/15 min) at start ${loadText(m.load_start)}${m.load_end ? `, at end ${loadText(m.load_end)}` : ''}`,
  ].join('\n');
}
