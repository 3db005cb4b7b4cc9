// `npm run bench [-- --quick] [--only a,b] [--reps N] [--profile] [--engine docker|podman]`: runs every scenario, prints and saves the table.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeNoEngine, engineAt, locateEngine } from '../runtime/engine/locate.ts';
import { preferredEngine } from '../runtime/engine/podman.ts';
import { ensureRuntimeImage } from '../runtime/image/runtime-image.ts';
import { FULL, QUICK, type BenchContext, type Scenario } from './lib/context.ts';
import { coldStart } from './lib/cold-start.ts';
import { summariseProfiles } from './lib/cpu-profile.ts';
import { deploy } from './lib/deploy.ts';
import { dockerRun } from './lib/docker-run.ts';
import { events, redisVersion } from './lib/events.ts';
import { eventsCluster } from './lib/events-cluster.ts';
import {
  createBenchDir,
  dropFunction,
  EVENT_TOPIC,
  ONE_CONTAINER,
  type BenchDir,
} from './lib/fixture.ts';
import { GatewayProcess } from './lib/gateway-process.ts';
import { describeMachine, machineInfo } from './lib/machine.ts';
import { memory } from './lib/memory.ts';
import { note } from './lib/progress.ts';
import type { Measurement } from './lib/record.ts';
import { table, writeReport } from './lib/report.ts';
import { cleanup } from './lib/cleanup.ts';
import { stemCells } from './lib/stem-cells.ts';
import { gvisor } from './lib/gvisor.ts';
import { WARM_FN, warm, warm32 } from './lib/warm.ts';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const EVENT_FN = 'ev';

const SCENARIOS: Scenario[] = [
  { name: 'memory', run: memory },
  { name: 'warm', run: warm },
  { name: 'warm32', run: warm32, onlyWhenNamed: true },
  { name: 'docker-run', run: dockerRun },
  { name: 'cold', run: coldStart },
  { name: 'stem', run: stemCells },
  { name: 'gvisor', run: gvisor },
  { name: 'deploy', run: deploy },
  { name: 'events', run: events },
  { name: 'events-cluster', run: eventsCluster },
];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    reps: { type: 'string' },
    // which engine to find when DOCKER_HOST is unset (as TITAN_ENGINE does for setup); unset: the engine from DOCKER_HOST, or the first that answers
    engine: { type: 'string' },
  },
});
if (args.engine !== undefined) process.env.TITAN_ENGINE = args.engine;
const only = args.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((n) => !SCENARIOS.some((s) => s.name === n)) ?? [];
if (unknown.length) {
  process.stderr.write(
    `bench: unknown scenario ${unknown.join(', ')}; choose from ${SCENARIOS.map((s) => s.name).join(', ')}\n`,
  );
  process.exit(2);
}

/** Engine, runtime image, the functions under test and the gateway's process. */
async function setUp(bench: BenchDir, profileDir: string | undefined) {
  // The bench's own state directory records no engine: the one setup started is in the project's.
  const found =
    (await locateEngine(bench.config.stateDir)) ??
    (await locateEngine(resolve(process.env.TITAN_STATE_DIR || '.titan')));
  if (!found) throw new Error(await describeNoEngine(bench.config.stateDir));
  if (args.engine && found.kind !== preferredEngine(process.env)) {
    throw new Error(
      `--engine ${args.engine}, but DOCKER_HOST=${found.host} is ${found.kind}: unset DOCKER_HOST or point it at ${args.engine}`,
    );
  }
  const engine = engineAt(found.host);
  const engineInfo = await engine.ping();
  await ensureRuntimeImage(engine, bench.config.sandbox.image, { log: (l) => note(l) });
  // The no-op functions under test: one container each, taking every call at once (concurrency 64);
  // the warm scenario starts its references (direct, minimal proxy) with the same manifest.
  await dropFunction(bench, WARM_FN, { pool: ONE_CONTAINER });
  await dropFunction(bench, EVENT_FN, { pool: ONE_CONTAINER, topic: EVENT_TOPIC });
  note(`starting the gateway under test (${args.quick ? 'quick' : 'full'} mode)...`);
  const gateway = await GatewayProcess.start({
    config: bench.config,
    dockerHost: found.host,
    cpuProfDir: profileDir,
  });
  return { found, engine, engineInfo, gateway };
}

async function main(): Promise<number> {
  const started = new Date();
  const t0 = performance.now();
  const reps = args.reps === undefined ? undefined : Number(args.reps);
  if (reps !== undefined && !(Number.isInteger(reps) && reps >= 1 && reps <= 50))
    throw new Error(`--reps must be an integer from 1 to 50 (got ${args.reps})`);
  const base = args.quick ? QUICK : FULL;
  const sizes = reps
    ? {
        ...base,
        reps,
        coldReps: reps,
        dockerRunReps: reps,
        deployReps: reps,
        events: { ...base.events, reps },
        eventsCluster: { ...base.eventsCluster, reps },
      }
    : base;
  const profileDir = args.profile
    ? join(RESULTS_DIR, `profile-${started.toISOString().replace(/[:.]/g, '-')}`)
    : undefined;
  const bench = await createBenchDir();
  // Until the gateway runs, cleanup() cannot: a failure here removes the directory itself.
  const { found, engine, engineInfo, gateway } = await setUp(bench, profileDir).catch(
    async (err: unknown) => {
      await rm(bench.dir, { recursive: true, force: true });
      throw err;
    },
  );
  const runId = randomBytes(4).toString('hex');
  const ctx: BenchContext = {
    bench,
    gateway,
    engine,
    dockerHost: found.host,
    sizes,
    runId,
    facts: {},
    notes: [],
  };
  if (process.env.TITAN_BENCH_LISTENER)
    ctx.notes.push(`gateway listener: ${process.env.TITAN_BENCH_LISTENER} (TITAN_BENCH_LISTENER)`);
  // `on`, not `once`: under tsx a signal that finds no listener ends the process at once, and the
  // tsx CLI may relay a second one while the cleanup (a few seconds) is still running.
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    note('interrupted: cleaning up');
    void cleanup(ctx).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const machine = machineInfo(
    `${engineInfo.kind ?? ''} ${engineInfo.serverVersion} (API ${engineInfo.apiVersion})`.trim(),
    gateway.redisUrl ? await redisVersion(gateway.redisUrl) : null,
  );
  note(describeMachine(machine));
  const measurements: Measurement[] = [];
  let failed = 0;
  try {
    for (const s of SCENARIOS) {
      if (interrupted) break;
      if (only ? !only.includes(s.name) : s.onlyWhenNamed) continue;
      note(`== ${s.name}`);
      const t = performance.now();
      try {
        const got = await s.run(ctx);
        measurements.push(...got);
        note(`   ${got.length} measurement(s) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      } catch (err) {
        failed++;
        const msg = `${s.name} failed: ${(err as Error).stack ?? err}`;
        ctx.notes.push(msg);
        note(msg);
      }
    }
  } finally {
    await cleanup(ctx);
  }
  machine.load_end = loadavg().map((x) => Math.round(x * 100) / 100);

  process.stdout.write(
    `\n${describeMachine(machine)}\nmode ${args.quick ? 'quick' : 'full'}, ${((performance.now() - t0) / 1000).toFixed(1)} s\n\n`,
  );
  process.stdout.write(`${table(measurements)}\n`);
  for (const n of ctx.notes) process.stdout.write(`\nnote: ${n}\n`);
  const file = await writeReport(RESULTS_DIR, {
    started: started.toISOString(),
    mode: args.quick ? 'quick' : 'full',
    machine,
    measurements,
    notes: ctx.notes,
  });
  process.stdout.write(`\nresults: ${file}\n`);
  if (profileDir) process.stdout.write(`\n${await summariseProfiles(profileDir)}\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
