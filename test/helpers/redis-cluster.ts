// A real Redis Cluster for tests: six Debian `redis-server --cluster-enabled yes` on free loopback
// ports (3 masters, 3 replicas) built with `redis-cli --cluster create`, and a way to fail a master
// over by SIGKILL. Everything lives in /tmp/cluster-*; teardown kills only the PIDs started here.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';

const run = promisify(execFile);

export interface ClusterNode {
  port: number;
  process: ChildProcess;
}

export interface RedisClusterFixture {
  /** `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,…` (seed nodes: every node) */
  url: string;
  dir: string;
  nodes: ClusterNode[];
  /** a cluster client for assertions; disconnected by teardown */
  client(): Cluster;
  /** the hash slot of a key (CLUSTER KEYSLOT) */
  slotOf(key: string): Promise<number>;
  /** the port of the master serving a slot now */
  masterOf(slotOrKey: number | string): Promise<number>;
  /**
   * SIGKILL the master serving `slotOrKey` and wait until a replica took its slots over and every
   * live node says the cluster is ok. Answers the killed port.
   */
  killMaster(slotOrKey: number | string): Promise<number>;
  teardown(): Promise<void>;
}

/** A port that is free, and whose cluster bus port (+10000) is free too. */
async function freePort(taken: Set<number>): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await tryListen(port)) && (await tryListen(port + 10000))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free loopback port pair for a cluster node');
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 30_000,
  });
  return stdout;
}

async function waitUntil(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`redis cluster: timed out waiting for ${what}`);
    await sleep(100);
  }
}

const alive = (n: ClusterNode) => n.process.exitCode === null && n.process.signalCode === null;

export async function startRedisCluster(): Promise<RedisClusterFixture> {
  const dir = await mkdtemp('/tmp/cluster-');
  const taken = new Set<number>();
  const nodes: ClusterNode[] = [];
  const clients: Cluster[] = [];
  const killAll = () => {
    for (const n of nodes) if (alive(n)) n.process.kill('SIGKILL');
  };
  // 'exit' handlers cannot await: a test process that dies leaves no servers behind.
  const onExit = () => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freePort(taken);
      const proc = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          // fast failover for tests: a master is failed after 1 s without an answer
          '--cluster-node-timeout',
          '1000',
          // a replica may always take over: with the default factor, one that heard nothing from its
          // master for ~20 s (no writes since the sync) refuses, and the test's failover never comes
          '--cluster-replica-validity-factor',
          '0',
          '--dir',
          dir,
          '--dbfilename',
          `dump-${port}.rdb`,
          '--appendonly',
          'no',
          '--save',
          '',
          '--logfile',
          join(dir, `redis-${port}.log`),
        ],
        { stdio: 'ignore' },
      );
      proc.unref();
      nodes.push({ port, process: proc });
    }
    for (const n of nodes)
      await waitUntil(`node ${n.port} to answer`, async () =>
        (await cli(n.port, 'ping')).includes('PONG'),
      );
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
    await waitAllOk(nodes);
  } catch (err) {
    onExit();
    process.off('exit', onExit);
    throw err;
  }

  const admin = () => {
    const c = new Cluster(
      nodes.filter(alive).map((n) => ({ host: '127.0.0.1', port: n.port })),
      { redisOptions: { maxRetriesPerRequest: 3 } },
    );
    c.on('error', () => {});
    clients.push(c);
    return c;
  };

  const slotOf = async (key: string) => {
    const n = nodes.find(alive)!;
    return Number((await cli(n.port, 'cluster', 'keyslot', key)).trim());
  };

  const masterOf = async (slotOrKey: number | string) => {
    const slot = typeof slotOrKey === 'number' ? slotOrKey : await slotOf(slotOrKey);
    const probe = new Redis({
      host: '127.0.0.1',
      port: nodes.find(alive)!.port,
      lazyConnect: true,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      const ranges = (await probe.call('CLUSTER', 'SLOTS')) as Array<
        [number, number, [string, number]]
      >;
      const r = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!r) throw new Error(`redis cluster: no master serves slot ${slot}`);
      return Number(r[2][1]);
    } finally {
      probe.disconnect();
    }
  };

  return {
    url: `redis-cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    dir,
    nodes,
    client: admin,
    slotOf,
    masterOf,
    async killMaster(slotOrKey) {
      const port = await masterOf(slotOrKey);
      const slot = typeof slotOrKey === 'number' ? slotOrKey : await slotOf(slotOrKey);
      const victim = nodes.find((n) => n.port === port)!;
      const exited = new Promise((r) => victim.process.once('exit', r));
      victim.process.kill('SIGKILL');
      await exited;
      await waitUntil(
        `a replica to take over slot ${slot} from ${port}`,
        async () => (await masterOf(slot)) !== port,
        30_000,
      );
      await waitAllOk(nodes.filter(alive));
      return port;
    },
    async teardown() {
      for (const c of clients) c.disconnect();
      const exits = nodes.filter(alive).map((n) => new Promise((r) => n.process.once('exit', r)));
      killAll();
      await Promise.all(exits);
      process.off('exit', onExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitAllOk(nodes: ClusterNode[]): Promise<void> {
  for (const n of nodes)
    await waitUntil(
      `cluster_state:ok on ${n.port}`,
      async () => (await cli(n.port, 'cluster', 'info')).includes('cluster_state:ok'),
      60_000,
    );
}
