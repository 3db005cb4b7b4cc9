// The events-cluster row (issue #17): events/s through 1 gateway, then 2 gateways, on a real 6-node
// Redis Cluster (3 masters, 3 replicas; test/helpers/redis-cluster.ts), same run, alternating, with
// where the CPU went; the single-node pipeline of the same run (the bench gateway) as a reference.
import { cpus } from 'node:os';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startRedisCluster, type RedisClusterFixture } from '../../test/helpers/redis-cluster.ts';
import type { RuntimeConfig } from '../../runtime/config.ts';
import type { BenchContext } from './context.ts';
import { census, containerPids, type Groups } from './cpu-census.ts';
import {
  connect,
  deliveryProblem,
  viaGateways,
  waitSubscribed,
  type RunResult,
} from './event-burst.ts';
import { dropFunction, EVENT_TOPIC, ONE_CONTAINER, type BenchDir } from './fixture.ts';
import { GatewayProcess } from './gateway-process.ts';
import { note, progress } from './progress.ts';
import { measurement, type Measurement } from './record.ts';
import { median, spread } from './stats.ts';

const FN = 'evc';
/** Four topics: their streams hash to slots on different masters, so the routers' reads spread. */
const TOPICS = ['bench.c0', 'bench.c1', 'bench.c2', 'bench.c3'];

/** A gateway of the row: the bench's config on its own state dir, the shared functions and cluster. */
function clusterConfig(bench: BenchDir, functionsDir: string, stateDir: string): RuntimeConfig {
  const base = bench.config;
  return {
    ...base,
    functionsDir,
    stateDir,
    // No stem cells: nothing here starts a container on demand, and idle cells only cost start time.
    sandbox: {
      ...base.sandbox,
      stemCells: { node: { min: 0, max: 0 }, python: { min: 0, max: 0 } },
    },
    // Several hosts' rule (docs/several-hosts.md): no private Redis the other gateway would not see.
    events: { ...base.events, embeddedRedis: false },
  };
}

interface Phase {
  rate: number[];
  /** CPU of the gateways together per event, µs */
  gwCpuPerEvent: number[];
  cores: Record<string, number[]>;
  machine: number[];
}

const newPhase = (): Phase => ({ rate: [], gwCpuPerEvent: [], cores: {}, machine: [] });

function record(
  phase: Phase,
  r: RunResult,
  cores: Record<string, number>,
  machine: number,
  wallMs: number,
  count: number,
) {
  phase.rate.push(r.rate);
  const gw = Object.entries(cores)
    .filter(([k]) => k.startsWith('gateway'))
    .reduce((sum, [, c]) => sum + c, 0);
  phase.gwCpuPerEvent.push((gw * wallMs * 1000) / count);
  for (const [k, c] of Object.entries(cores)) phase.cores[k] = [...(phase.cores[k] ?? []), c];
  phase.machine.push(machine);
}

/** Each group's median cores, what the rest of the machine used (not ours: CI, dockerd, ...), the whole. */
function describe(phase: Phase): string {
  const groups = Object.entries(phase.cores).map(([k, v]) => [k, median(v)] as const);
  const ours = groups.reduce((sum, [, c]) => sum + c, 0);
  const machine = median(phase.machine);
  return `${groups.map(([k, c]) => `${k} ${c.toFixed(2)}`).join(', ')}, other processes ${Math.max(0, machine - ours).toFixed(2)}; whole machine ${machine.toFixed(2)} of ${cpus().length}`;
}

export async function eventsCluster(ctx: BenchContext): Promise<Measurement[]> {
  const singleUrl = ctx.gateway.redisUrl;
  if (!singleUrl)
    throw new Error('the bench gateway has no Redis: the single-node reference needs one');
  const { count, warmup, reps } = ctx.sizes.eventsCluster;
  const root = join(ctx.bench.dir, 'cl');
  const functionsDir = join(root, 'functions');
  await mkdir(functionsDir, { recursive: true });
  // Both gateways read this one folder: the same contents on every host, as several-hosts.md asks.
  await dropFunction({ ...ctx.bench, dir: root, functionsDir }, FN, {
    pool: ONE_CONTAINER,
    topics: TOPICS,
  });
  const stateDirs = [join(root, 's1'), join(root, 's2')];
  note('events-cluster: starting a 6-node Redis Cluster');
  let cluster: RedisClusterFixture | undefined;
  const gateways: Array<GatewayProcess | undefined> = [undefined, undefined];
  const startGateway = async (i: number) => {
    gateways[i] = await GatewayProcess.start({
      config: clusterConfig(ctx.bench, functionsDir, stateDirs[i]!),
      dockerHost: ctx.dockerHost,
      redisUrl: cluster!.url,
    });
  };
  const stopGateway = async (i: number) => {
    await gateways[i]?.close();
    gateways[i] = undefined;
  };
  const single = { cmd: connect(singleUrl), reader: connect(singleUrl) };
  let cl: typeof single | undefined;
  try {
    cluster = await startRedisCluster();
    cl = { cmd: connect(cluster.url), reader: connect(cluster.url) };
    await startGateway(0);
    const prefix = ctx.bench.keyPrefix;
    const clusterPipe = {
      prefix,
      topics: TOPICS,
      resultsKey: `${prefix}${ctx.bench.config.events.resultsStream}`,
    };
    const singlePipe = { prefix, topics: [EVENT_TOPIC], resultsKey: clusterPipe.resultsKey };
    await waitSubscribed(
      cl.cmd,
      TOPICS.map((t) => prefix + t),
    );
    await waitSubscribed(single.cmd, [prefix + EVENT_TOPIC]);
    const masters = new Set(await Promise.all(TOPICS.map((t) => cluster!.masterOf(prefix + t))));
    const redisPids = cluster.nodes.map((n) => n.process.pid!);

    const problems: string[] = [];
    const phases = { single: newPhase(), one: newPhase(), two: newPhase() };
    // A gateway just started (each one at rep 1, the second one in every 2-gateway phase) runs a
    // first burst several times slower (seen: 212 against 655 to 990 events/s), so it warms up on a
    // whole burst; one already warm, on `warmup` events.
    const burst = async (name: keyof typeof phases, rep: number, fresh: boolean) => {
      const onCluster = name !== 'single';
      const conn = onCluster ? cl! : single;
      const pipe = onCluster ? clusterPipe : singlePipe;
      const groups: Groups = { publisher: [process.pid] };
      if (onCluster) {
        groups['redis-servers'] = redisPids;
        const live = gateways.flatMap((g, i) => (g ? [[g, i] as const] : []));
        for (const [g, i] of live) groups[`gateway${i + 1}`] = [g.pid];
        groups.containers = (
          await Promise.all(live.map(([, i]) => containerPids(ctx.engine, stateDirs[i]!)))
        ).flat();
      } else {
        groups.gateway = [ctx.gateway.pid];
        groups.containers = await containerPids(ctx.engine, ctx.bench.config.stateDir);
      }
      progress(`events-cluster: ${name}, rep ${rep + 1}/${reps}, warm-up`);
      const w = await viaGateways(conn.cmd, conn.reader, pipe, fresh ? count : warmup);
      const wp = deliveryProblem(`${name} warm-up ${rep + 1}`, w);
      if (wp) problems.push(wp);
      progress(`events-cluster: ${name}, rep ${rep + 1}/${reps}, burst of ${count}`);
      const { result, cores, machine, wallMs } = await census(groups, () =>
        viaGateways(conn.cmd, conn.reader, pipe, count),
      );
      const p = deliveryProblem(`${name} burst ${rep + 1}`, result);
      if (p) problems.push(p);
      record(phases[name], result, cores, machine, wallMs, count);
    };

    for (let rep = 0; rep < reps; rep++) {
      await burst('single', rep, rep === 0);
      // Alternate which comes first; the second gateway is started for its phase and stopped after,
      // so the 1-gateway phase has no idle consumer holding entries.
      const order: Array<'one' | 'two'> = rep % 2 === 0 ? ['one', 'two'] : ['two', 'one'];
      for (const phase of order) {
        if (phase === 'two') {
          progress(`events-cluster: starting the second gateway, rep ${rep + 1}/${reps}`);
          await startGateway(1);
        }
        await burst(phase, rep, phase === 'two' || rep === 0);
        if (phase === 'two') await stopGateway(1);
      }
    }
    if (problems.length)
      ctx.notes.push(`events-cluster: at-least-once check failed: ${problems.join('; ')}`);
    ctx.notes.push(
      `events-cluster: cores used during the bursts (medians; CPU ms / wall ms): ` +
        `1 gateway: ${describe(phases.one)}. 2 gateways: ${describe(phases.two)}. ` +
        `Single node: ${describe(phases.single)}. The topics' streams are on ${masters.size} of 3 masters.`,
    );
    const delivery = problems.length
      ? 'delivery problems, see notes'
      : 'every event delivered once, outcome ok';
    const what = `burst of ${count} over ${TOPICS.length} topics, one no-op function`;
    return [
      measurement({
        name: `events-cluster: 1 gateway (${what})`,
        unit: 'events/s',
        value: spread(phases.one.rate),
        reference: {
          name: `single-node Redis, the bench gateway, 1 topic, same run`,
          value: spread(phases.single.rate),
        },
        note: delivery,
      }),
      measurement({
        name: 'events-cluster: 2 gateways, same cluster, one engine',
        unit: 'events/s',
        value: spread(phases.two.rate),
        reference: { name: '1 gateway on the cluster, same run', value: spread(phases.one.rate) },
        note: 'the ratio is the scaling 2/1; no target (issue #17)',
      }),
      measurement({
        name: 'events-cluster: gateways CPU per event, 2 gateways',
        unit: 'us',
        value: spread(phases.two.gwCpuPerEvent),
        reference: { name: '1 gateway, same run', value: spread(phases.one.gwCpuPerEvent) },
        note: 'user + system CPU of the gateway processes together',
      }),
      measurement({
        name: 'events-cluster: machine busy during the 2-gateway burst',
        unit: 'cores',
        value: spread(phases.two.machine),
        reference: { name: 'cores of the machine', value: cpus().length },
        note: 'every process on the machine, ours and anyone else’s (/proc/stat)',
      }),
    ];
  } finally {
    for (const i of [1, 0]) await stopGateway(i).catch(() => {});
    single.cmd.disconnect();
    single.reader.disconnect();
    cl?.cmd.disconnect();
    cl?.reader.disconnect();
    await cluster?.teardown();
  }
}
