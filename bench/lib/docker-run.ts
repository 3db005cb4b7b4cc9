// Scenario 3: the original design, one `docker run --rm` per invocation, vs a warm call.
import { FUNCTION_ULIMITS } from '../../runtime/engine/ulimits.ts';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ContainerSpec } from '../../runtime/engine/engine.ts';
import { loadFunctionFolder } from '../../runtime/manifest.ts';
import { containerSpecFor } from '../../runtime/sandbox.ts';
import { BENCH_LABEL } from './cleanup.ts';
import { limitsOf } from './raw-container.ts';
import type { BenchContext } from './context.ts';
import { KeepAliveClient } from './http-client.ts';
import { progress } from './progress.ts';
import { measurement, type Measurement } from './record.ts';
import { percentile, spread } from './stats.ts';
import { WARM_FN } from './warm.ts';

const LIMIT_MS = 60_000;

// What a per-call container runs: load the handler, call it once, print the result.
const ONE_SHOT = `
const m = await import(process.env.TITAN_HANDLER);
const h = [m.default, m.handler, m.default?.handler].find((f) => typeof f === 'function');
const r = await h({}, { invocationId: 'docker-run', functionName: process.env.TITAN_FUNCTION, deadline: Date.now() + 60000, trigger: { kind: 'http' }, emit() {} });
process.stdout.write(JSON.stringify(r ?? null));
`;

/** The CLI form of the runtime's sandbox policy (the same mapping as the engine adapter). */
export function dockerRunArgs(spec: ContainerSpec, labels: Record<string, string>): string[] {
  return [
    'run',
    '--rm',
    '--name',
    spec.name,
    '--network',
    spec.network,
    '--read-only',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--user',
    spec.user,
    '--workdir',
    spec.workdir,
    '--memory',
    String(spec.memoryBytes),
    '--memory-swap',
    String(spec.memoryBytes),
    '--cpu-shares',
    String(Math.max(2, Math.round(spec.cpuShare * 1024))),
    '--cpus',
    String(spec.cpuLimit),
    '--pids-limit',
    String(spec.pidsLimit),
    // as the engine layer sets them for every container (Podman refuses to start one without them)
    ...FUNCTION_ULIMITS.flatMap((u) => ['--ulimit', `${u.Name}=${u.Soft}:${u.Hard}`]),
    ...spec.binds.flatMap((b) => [
      '-v',
      `${b.hostPath}:${b.containerPath}:${b.readOnly ? 'ro' : 'rw'}`,
    ]),
    ...spec.tmpfs.flatMap((t) => [
      '--tmpfs',
      `${t.containerPath}:${t.readOnly ? 'ro' : 'rw'},size=${t.sizeBytes},mode=${t.mode.toString(8)},nosuid,nodev,noexec`,
    ]),
    ...Object.entries(spec.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    '--entrypoint',
    'node',
    spec.image,
    '--input-type=module',
    '-e',
    ONE_SHOT,
  ];
}

function runOnce(dockerHost: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('docker', args, {
      env: { ...process.env, DOCKER_HOST: dockerHost },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.on('error', (e) => reject(new Error(`docker CLI: ${e.message}`)));
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      if (code === 0 && out === 'null') resolve(ms);
      else
        reject(
          new Error(
            `docker run exited with ${code} after ${ms.toFixed(0)} ms: ${(err || out).trim().slice(0, 300)}`,
          ),
        );
    });
  });
}

export async function dockerRun(ctx: BenchContext): Promise<Measurement[]> {
  const fn = await loadFunctionFolder(join(ctx.bench.functionsDir, WARM_FN), ctx.bench.config);
  const reps = ctx.sizes.dockerRunReps;
  const runs: number[] = [];
  for (let rep = 0; rep <= reps; rep++) {
    progress(`docker run per invocation: ${rep === 0 ? 'warm-up' : `rep ${rep}/${reps}`}`);
    const suffix = randomBytes(4).toString('hex');
    const spec = containerSpecFor(fn, limitsOf(ctx), {
      containerName: `titan-bench-run-${suffix}`,
      socketDir: '/nonexistent',
      scope: 'bench',
    });
    spec.binds = spec.binds.filter((b) => b.hostPath !== '/nonexistent'); // no socket: it answers on stdout
    const ms = await runOnce(ctx.dockerHost, dockerRunArgs(spec, { [BENCH_LABEL]: ctx.runId }));
    if (rep > 0) runs.push(ms);
  }
  // The warm reference, measured now: the same no-op through the gateway, one client.
  progress('docker run per invocation: warm reference');
  const client = new KeepAliveClient({
    host: '127.0.0.1',
    port: ctx.gateway.port,
    path: `/functions/${WARM_FN}/invoke`,
  });
  let warmP50: number;
  try {
    await client.latencies(ctx.sizes.latencyWarmup, 30_000, () => '{}');
    warmP50 = percentile(await client.latencies(ctx.sizes.latencyCount, 60_000, () => '{}'), 0.5);
  } finally {
    client.close();
  }
  const r = spread(runs);
  return [
    measurement({
      name: 'one `docker run` per invocation',
      unit: 'ms',
      value: r,
      reference: { name: 'warm invocation through the gateway, p50', value: warmP50 },
      note: `the warm pool is ${Math.round(r.median / warmP50)}x faster than a container per call`,
    }),
  ];
}
