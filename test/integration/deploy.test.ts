// Deploy by dropping folders: added, changed and removed folders follow the directory without a
// restart; broken ones are listed as invalid without disturbing the rest; orphans are cleaned up.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Gateway, scopeOf } from '../../gateway/gateway.ts';
import { LABEL } from '../../runtime/sandbox.ts';
import { eventually, fn, startHarness, testEngine, type Harness } from '../helpers/harness.ts';

type Info = { name: string; status: string; error?: string };
const info = async (h: Harness, name: string) => {
  const res = await h.request(`/functions/${name}`);
  return res.status === 200 ? ((await res.json()) as Info) : undefined;
};

describe('deploy by dropping folders', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ steady: fn('export default async () => "steady"') });
  });
  after(() => h.close());

  test('a folder dropped in becomes invokable; removing it undeploys it', async () => {
    await h.addFunction('dropped', fn('export default async (e) => ({ dropped: e })'));
    const res = await eventually(async () => {
      const r = await h.invoke('dropped', 1);
      return r.status === 200 ? r : undefined;
    });
    assert.ok(res, 'invokable without a restart');
    assert.deepEqual(await res.json(), { dropped: 1 });
    await h.removeFunction('dropped');
    const gone = await eventually(async () => (await h.invoke('dropped', 1)).status === 404);
    assert.ok(gone, 'a removed folder 404s');
  });

  test('changed files redeploy the function with fresh containers', async () => {
    await h.addFunction('changing', fn('export default async () => "v1"'));
    assert.ok(await eventually(async () => (await h.invoke('changing', {})).status === 200));
    assert.equal(await (await h.invoke('changing', {})).json(), 'v1');
    await writeFile(join(h.functionsDir, 'changing', 'index.js'), 'export default async () => "v2"');
    const v2 = await eventually(async () => (await (await h.invoke('changing', {})).json()) === 'v2');
    assert.ok(v2, 'the new code answers');
  });

  test('a broken manifest is listed invalid with the reason, refuses invocation, and disturbs nothing else', async () => {
    await h.addFunction('badkey', fn('export default async () => 1', 'version: "1"\nbogus_key: 1\n'));
    await h.addFunction('badyaml', fn('export default async () => 1', 'pool: [unclosed\n'));
    const listed = await eventually(async () => (await info(h, 'badkey'))?.status === 'invalid' && (await info(h, 'badyaml'))?.status === 'invalid');
    assert.ok(listed);
    assert.match((await info(h, 'badkey'))!.error!, /bogus_key: unknown key/);
    assert.match((await info(h, 'badyaml'))!.error!, /line \d+, column \d+/);
    const res = await h.invoke('badkey', {});
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'function_invalid');
    assert.equal(await (await h.invoke('steady', {})).json(), 'steady');
  });

  test('a handler with a syntax error is listed invalid with the message', async () => {
    await h.addFunction('syntax', fn('export default async () => { return 1 +; }'));
    const invalid = await eventually(async () => (await info(h, 'syntax'))?.status === 'invalid', 15_000);
    assert.ok(invalid);
    assert.match((await info(h, 'syntax'))!.error!, /handler failed to load: .*Unexpected token/);
    assert.equal((await h.invoke('syntax', {})).status, 409);
  });

  test('POST /reload rescans at once', async () => {
    const res = await h.request('/reload', { method: 'POST' });
    assert.equal(res.status, 200);
    assert.ok(((await res.json()) as { functions: Info[] }).functions.some((f) => f.name === 'steady'));
  });
});

describe('orphans', () => {
  test('containers of a gateway that died are removed when the next one starts on its state directory', async () => {
    const h = await startHarness({ lingering: fn('export default async () => 1', 'pool: { min: 2, max: 2 }\n') });
    const engine = testEngine();
    const scope = { [LABEL.scope]: scopeOf(h.config.state_dir) };
    try {
      const before = await engine.listByLabels(scope);
      assert.equal(before.length, 2);
      // A second gateway on the same state directory, as after a crash: the first never cleaned up.
      const next = new Gateway({ config: h.config, engine, log: pino({ level: 'silent' }), processMetrics: false });
      await next.start();
      await next.registry.settled();
      const after = await engine.listByLabels(scope);
      for (const c of before) assert.ok(!after.some((a) => a.id === c.id), `orphan ${c.name} removed`);
      // (the first gateway is still alive here and replaces what it lost; a crashed one would not)
      assert.equal(next.registry.info('lingering')?.pool.warm, 2, 'the new gateway prewarmed its own');
      await next.close();
    } finally {
      await h.close();
    }
  });
});
