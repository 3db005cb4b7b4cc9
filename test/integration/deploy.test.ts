// Deploy by dropping folders: added, changed and removed folders follow the directory without a
// restart; broken ones are listed as invalid without disturbing the rest; a gateway that starts on
// the state directory of one that crashed removes the containers it left behind.
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCrashableGateway, type CrashableGateway } from '../helpers/crash.ts';
import {
  containersOf,
  errorOf,
  eventually,
  fn,
  newHarnessDir,
  startHarness,
  testEngine,
  type Harness,
} from '../helpers/harness.ts';

type Info = {
  name: string;
  status: string;
  version: string;
  error?: string;
  update_failed?: { reason: string; code: string };
};
const HTTP_ONLY = { events: { embedded_redis: false } };

describe('deploy by dropping folders', () => {
  let h: Harness;
  const info = async (name: string): Promise<Info | undefined> => {
    const res = await h.request(`/functions/${name}`);
    return res.status === 200 ? ((await res.json()) as Info) : undefined;
  };
  const listed = async () =>
    ((await (await h.request('/functions')).json()) as { functions: Info[] }).functions;
  /** Polls until `name` answers 200, for at most `ms`; the last response. */
  const served = (name: string, ms = 5_000) =>
    eventually(async () => {
      const r = await h.invoke(name, {});
      return r.status === 200 ? r : undefined;
    }, ms);

  before(async () => {
    h = await startHarness({ steady: fn('export default async () => "steady"') }, HTTP_ONLY);
  });
  after(async () => {
    if (!h) return;
    await h.close();
    assert.deepEqual(await containersOf(h.config), [], 'close removes every container');
  });

  test('a folder added after start becomes invokable; removing it undeploys it', async () => {
    assert.equal((await h.invoke('dropped', {})).status, 404, 'not there yet');
    await h.addFunction('dropped', fn('export default async (e) => ({ dropped: e })'));
    // The spec says within 2 s of the folder appearing; here only that it happens.
    const res = await served('dropped');
    assert.ok(res, 'invokable without a restart');
    assert.deepEqual(await res.json(), { dropped: {} });
    assert.ok((await listed()).some((f) => f.name === 'dropped' && f.status === 'ready'));

    await h.removeFunction('dropped');
    // (404 can come a moment before the listing follows: the listing changes when the scan ends)
    const gone = await eventually(
      async () =>
        (await h.invoke('dropped', {})).status === 404 &&
        !(await listed()).some((f) => f.name === 'dropped'),
      5_000,
    );
    assert.ok(gone, 'a removed folder 404s and is no longer listed');
    assert.equal((await errorOf(await h.invoke('dropped', {}))).code, 'not_found');
    assert.ok(
      await eventually(async () => (await containersOf(h.config, 'dropped')).length === 0, 10_000),
      'its containers are removed',
    );
  });

  test('changing the handler redeploys it: new results, new containers, and no failed call meanwhile', async () => {
    await h.addFunction('changing', fn('export default async () => "v1"'));
    const v1 = await served('changing');
    assert.ok(v1);
    assert.equal(await v1.json(), 'v1');
    const [old] = await containersOf(h.config, 'changing');

    await writeFile(
      join(h.functionsDir, 'changing', 'index.js'),
      'export default async () => "v2"',
    );
    const seen = new Set<string>();
    const switched = await eventually(async () => {
      const r = await h.invoke('changing', {});
      assert.equal(r.status, 200, 'the old version serves until the new one is warm');
      const value = (await r.json()) as string;
      seen.add(value);
      return value === 'v2';
    }, 15_000);
    assert.ok(switched, 'the new code answers');
    assert.deepEqual(
      [...seen].filter((x) => x !== 'v1' && x !== 'v2'),
      [],
    );
    assert.ok(
      await eventually(
        async () => !(await containersOf(h.config, 'changing')).some((c) => c.id === old!.id),
        10_000,
      ),
      'the old container is drained and removed',
    );
  });

  test('a broken manifest is listed invalid with the reason, invoking it is 409, and other functions keep working', async () => {
    await h.addFunction(
      'badkey',
      fn('export default async () => 1', 'version: "1"\nbogus_key: 1\n'),
    );
    await h.addFunction('badyaml', fn('export default async () => 1', 'pool: [unclosed\n'));
    const both = await eventually(
      async () =>
        (await info('badkey'))?.status === 'invalid' &&
        (await info('badyaml'))?.status === 'invalid',
      5_000,
    );
    assert.ok(both, 'both listed as invalid');
    assert.match((await info('badkey'))!.error!, /bogus_key: unknown key/);
    assert.match((await info('badyaml'))!.error!, /line \d+, column \d+/);
    const inList = (await listed()).filter((f) => f.status === 'invalid').map((f) => f.name);
    assert.deepEqual(inList, ['badkey', 'badyaml'], 'GET /functions lists them too');

    const res = await h.invoke('badkey', {});
    assert.equal(res.status, 409);
    const e = await errorOf(res);
    assert.equal(e.code, 'function_invalid');
    assert.match(e.message, /bogus_key/, 'the reason is in the answer');
    assert.equal((await h.invoke('badyaml', {})).status, 409);
    assert.deepEqual(await containersOf(h.config, 'badkey'), [], 'nothing is started for it');

    const steady = await h.invoke('steady', {});
    assert.equal(steady.status, 200);
    assert.equal(await steady.json(), 'steady');
  });

  // Changed on purpose (issue #15): a broken manifest no longer undeploys a working version.
  test('breaking the manifest of a deployed function keeps it serving with the failed update shown; fixing it replaces it', async () => {
    await h.addFunction('fragile', fn('export default async () => "fine"'));
    assert.ok(await served('fragile'));
    const [running] = await containersOf(h.config, 'fragile');
    await writeFile(join(h.functionsDir, 'fragile', 'function.yaml'), 'timeout_sec: -1\n');
    const failed = await eventually(async () => (await info('fragile'))?.update_failed, 5_000);
    assert.ok(failed, 'the failed update is shown');
    assert.equal(failed.code, 'invalid_manifest');
    assert.match(failed.reason, /timeout_sec/);
    assert.equal((await info('fragile'))!.status, 'ready');
    const still = await h.invoke('fragile', {});
    assert.equal(still.status, 200, 'the old version keeps serving');
    assert.equal(await still.json(), 'fine');
    assert.deepEqual(
      (await containersOf(h.config, 'fragile')).map((c) => c.id),
      [running!.id],
      'its container stays',
    );

    await writeFile(
      join(h.functionsDir, 'fragile', 'function.yaml'),
      'version: "2"\ntimeout_sec: 5\n',
    );
    assert.ok(
      await eventually(async () => (await info('fragile'))?.version === '2', 15_000),
      'the fixed version replaces it',
    );
    assert.equal((await info('fragile'))!.update_failed, undefined);
    assert.equal(await (await h.invoke('fragile', {})).json(), 'fine');
  });

  test('a handler with a syntax error is listed invalid with the message; fixing it deploys it', async () => {
    await h.addFunction('syntax', fn('export default async () => { return 1 +; }'));
    const invalid = await eventually(
      async () => (await info('syntax'))?.status === 'invalid',
      15_000,
    );
    assert.ok(invalid);
    assert.match((await info('syntax'))!.error!, /handler failed to load: .*Unexpected token/);
    const res = await h.invoke('syntax', {});
    assert.equal(res.status, 409);
    assert.match((await errorOf(res)).message, /Unexpected token/);
    assert.deepEqual(
      await containersOf(h.config, 'syntax'),
      [],
      'the container that failed to load was removed',
    );

    await writeFile(
      join(h.functionsDir, 'syntax', 'index.js'),
      'export default async () => 1 + 1;',
    );
    const fixed = await served('syntax', 15_000);
    assert.ok(fixed, 'the fixed handler is served');
    assert.equal(await fixed.json(), 2);
    assert.equal((await info('syntax'))!.status, 'ready');
  });

  test("a gateway started on a crashed one's state directory removes its orphans, and only those", async () => {
    const dir = await newHarnessDir();
    const scope = { stateDir: join(dir, 's') };
    let crashed: CrashableGateway | undefined;
    let next: Harness | undefined;
    try {
      crashed = await startCrashableGateway(dir, {
        lingering: fn('export default async () => "alive"', 'pool: { min: 2, max: 2 }\n'),
      });
      await crashed.kill();
      const orphans = await containersOf(scope);
      assert.equal(
        (await containersOf(scope, 'lingering')).length,
        2,
        'a killed gateway leaves its containers running',
      );
      const bystanders = await containersOf(h.config);
      assert.ok(bystanders.length > 0);

      next = await startHarness({}, HTTP_ONLY, { dir });
      const now = await containersOf(next.config);
      for (const o of orphans)
        assert.ok(!now.some((c) => c.id === o.id), `orphan ${o.name} removed`);
      assert.equal(
        (await containersOf(next.config, 'lingering')).length,
        2,
        'the new gateway prewarmed its own',
      );
      assert.equal(next.gw.registry.info('lingering')?.pool.warm, 2);
      const res = await next.invoke('lingering', {});
      assert.equal(res.status, 200);
      assert.equal(await res.json(), 'alive');

      const stillThere = await containersOf(h.config);
      for (const b of bystanders)
        assert.ok(
          stillThere.some((c) => c.id === b.id),
          `${b.name} of another gateway is untouched`,
        );
      assert.equal((await h.invoke('steady', {})).status, 200);

      await next.close();
      next = undefined;
      assert.deepEqual(await containersOf(scope), [], 'and closing it leaves nothing');
    } finally {
      // Whatever a failed run left behind.
      await crashed?.kill();
      await next?.close();
      for (const c of await containersOf(scope)) await testEngine().remove(c.id);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
