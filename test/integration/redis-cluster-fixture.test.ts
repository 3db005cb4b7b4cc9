// The Redis Cluster test fixture itself (test/helpers/redis-cluster.ts): six real nodes, slots on
// three masters, a master failover that a replica takes over, and a teardown that leaves nothing.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startRedisCluster, type RedisClusterFixture } from '../helpers/redis-cluster.ts';

let rc: RedisClusterFixture;
before(async () => {
  rc = await startRedisCluster();
});
after(async () => {
  const dir = rc?.dir;
  const procs = rc?.nodes.map((n) => n.process) ?? [];
  await rc?.teardown();
  assert.equal(existsSync(dir), false, 'teardown removes the cluster directory');
  for (const p of procs)
    assert.ok(p.exitCode !== null || p.signalCode !== null, 'every node is gone');
});

test('three masters serve the slots; a killed master is replaced by its replica', async () => {
  const c = rc.client();
  const masters = new Set<number>();
  for (let i = 0; i < 30; i++) masters.add(await rc.masterOf(`k${i}`));
  assert.equal(masters.size, 3, 'keys spread over three masters');
  // Replication is asynchronous: without WAIT (on the same connection) the write could die with
  // its master.
  const res = await c.pipeline().set('fixture:{a}', 'before').call('WAIT', 1, 5000).exec();
  assert.deepEqual(res, [
    [null, 'OK'],
    [null, 1],
  ]);
  const old = await rc.masterOf('fixture:{a}');
  assert.equal(await rc.killMaster('fixture:{a}'), old);
  const now = await rc.masterOf('fixture:{a}');
  assert.notEqual(now, old, 'a replica serves the slot now');
  assert.equal(await c.get('fixture:{a}'), 'before');
});
