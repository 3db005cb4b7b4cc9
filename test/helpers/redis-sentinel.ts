// A real Sentinel set for tests: one primary, one replica and three sentinels (quorum 2) on free
// loopback ports, all Debian `redis-server` (`--sentinel` for the sentinels), and a way to kill the
// primary and wait until the sentinels promoted the replica. Everything lives in /tmp/cluster-*;
// teardown kills only the PIDs started here.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, freePort, waitUntil } from './redis-cluster.ts';

export interface RedisSentinelFixture {
  /** `redis-sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/<name>` */
  url: string;
  name: string;
  dir: string;
  /** the port of the primary the sentinels report now */
  primary(): Promise<number>;
  /** SIGKILL the primary; resolves with the new primary's port once a replica was promoted */
  killPrimary(): Promise<number>;
  teardown(): Promise<void>;
}

export async function startRedisSentinel(): Promise<RedisSentinelFixture> {
  const dir = await mkdtemp('/tmp/cluster-sentinel-');
  const name = 'titanprimary';
  const taken = new Set<number>();
  const procs = new Map<number, ChildProcess>();
  const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;
  const onExit = () => {
    for (const p of procs.values()) if (alive(p)) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const start = (port: number, args: string[]) => {
    const p = spawn('redis-server', args, { stdio: 'ignore' });
    p.unref();
    procs.set(port, p);
  };
  const server = (port: number, extra: string[] = []) =>
    start(port, [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
      ...['--dbfilename', `dump-${port}.rdb`, '--logfile', join(dir, `redis-${port}.log`)],
      ...extra,
    ]);
  const [p1, p2] = [await freePort(taken), await freePort(taken)];
  const sentinels = [await freePort(taken), await freePort(taken), await freePort(taken)];
  const sentinelNow = async () => {
    for (const s of sentinels) {
      const out = await cli(s, 'sentinel', 'get-master-addr-by-name', name).catch(() => '');
      const port = Number(out.trim().split('\n')[1]);
      if (port) return port;
    }
    throw new Error('no sentinel answered');
  };
  try {
    server(p1);
    server(p2, ['--replicaof', '127.0.0.1', String(p1)]);
    for (const s of sentinels) {
      const conf = join(dir, `sentinel-${s}.conf`);
      // A sentinel rewrites its config file as it learns (it must be writable): one per sentinel.
      await writeFile(
        conf,
        [
          `port ${s}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `logfile ${join(dir, `sentinel-${s}.log`)}`,
          `sentinel monitor ${name} 127.0.0.1 ${p1} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          '',
        ].join('\n'),
      );
      start(s, [conf, '--sentinel']);
    }
    await waitUntil('the replica to sync', async () =>
      (await cli(p2, 'info', 'replication')).includes('master_link_status:up'),
    );
    // Every sentinel knows the replica and the other sentinels: a failover can be agreed on.
    for (const s of sentinels)
      await waitUntil(`sentinel ${s} to see the set`, async () => {
        const info = await cli(s, 'info', 'sentinel');
        return new RegExp(
          `name=${name},status=ok,address=127.0.0.1:${p1},slaves=1,sentinels=3`,
        ).test(info);
      });
  } catch (err) {
    onExit();
    process.off('exit', onExit);
    throw err;
  }
  return {
    url: `redis-sentinel://${sentinels.map((s) => `127.0.0.1:${s}`).join(',')}/${name}`,
    name,
    dir,
    primary: sentinelNow,
    async killPrimary() {
      const old = await sentinelNow();
      const victim = procs.get(old)!;
      victim.ref(); // while we wait for its exit
      const exited = new Promise((r) => victim.once('exit', r));
      victim.kill('SIGKILL');
      await exited;
      await waitUntil('the sentinels to promote the replica', async () => {
        const now = await sentinelNow();
        return now !== old && (await cli(now, 'info', 'replication')).includes('role:master');
      });
      return sentinelNow();
    },
    async teardown() {
      const exits = [...procs.values()].filter(alive).map((p) => {
        p.ref();
        return new Promise((r) => p.once('exit', r));
      });
      for (const p of procs.values()) if (alive(p)) p.kill('SIGKILL');
      await Promise.all(exits);
      process.off('exit', onExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
