// A failed update keeps serving (issue #15), on the real engine: a new version of a working function
// that is broken (manifest, syntax error, a handler that throws while loading, a TypeScript build
// error) leaves the old version answering, and GET /functions/:name and `titan list` show the failed
// update with its reason; the next good version replaces it; a folder that never worked is invalid.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatTable } from '../../gateway/cli-format.ts';
import type { FunctionInfo } from '../../runtime/function-info.ts';
import {
  containersOf,
  errorOf,
  eventually,
  fn,
  startHarness,
  type Harness,
} from '../helpers/harness.ts';

const HTTP_ONLY = { events: { embedded_redis: false } };
type Info = FunctionInfo;

describe('a failed update keeps serving', () => {
  let h: Harness;
  const info = async (name: string): Promise<Info> =>
    (await (await h.request(`/functions/${name}`)).json()) as Info;
  const answer = async (name: string): Promise<unknown> => {
    const r = await h.invoke(name, {});
    assert.equal(r.status, 200, `${name} answers`);
    return r.json();
  };
  const write = (folder: string, file: string, text: string) =>
    writeFile(join(h.functionsDir, folder, file), text);
  /** Waits for the failed update of `name` with this code; the function's info then. */
  const failedWith = async (name: string, code: string): Promise<Info> => {
    const ok = await eventually(
      async () => (await info(name)).update_failed?.code === code,
      15_000,
    );
    const i = await info(name);
    assert.ok(ok, JSON.stringify(i));
    return i;
  };
  const replacedBy = (name: string, version: string) =>
    eventually(
      async () => (await info(name)).version === version && !(await info(name)).update_failed,
      15_000,
    );

  before(async () => {
    h = await startHarness({}, HTTP_ONLY);
  });
  after(async () => {
    if (!h) return;
    await h.close();
    assert.deepEqual(await containersOf(h.config), [], 'close removes every container');
  });

  test('a syntax error: the old version answers, the API and titan list show why; the fix replaces it', async () => {
    await h.addFunction('syn', fn('export default async () => "v1"', 'version: "1"\n'));
    assert.ok(await eventually(async () => (await info('syn')).status === 'ready', 15_000));
    assert.equal(await answer('syn'), 'v1');

    await write('syn', 'index.js', 'export default async () => { return "v2" +; }');
    await write('syn', 'function.yaml', 'version: "2"\n');
    const i = await failedWith('syn', 'function_invalid');
    assert.deepEqual([i.status, i.version, i.error], ['ready', '1', undefined]);
    assert.match(i.update_failed!.reason, /handler failed to load: .*Unexpected token/);
    assert.equal(await answer('syn'), 'v1', 'the old version keeps answering');
    assert.match(
      formatTable([i]),
      /syn\s+1\s+ready \(update failed\).*update failed: handler failed to load/,
    );

    await write('syn', 'index.js', 'export default async () => "v3"');
    await write('syn', 'function.yaml', 'version: "3"\n');
    assert.ok(await replacedBy('syn', '3'), JSON.stringify(await info('syn')));
    assert.equal(await answer('syn'), 'v3');
  });

  test('a handler that throws while loading: the old version answers with its result', async () => {
    await h.addFunction(
      'loadthrow',
      fn('export default async (e) => ({ old: true, e })', 'version: "1"\npool: { min: 0 }\n'),
    );
    assert.ok(
      await eventually(async () => (await h.invoke('loadthrow', {})).status === 200, 15_000),
    );
    assert.deepEqual(await answer('loadthrow'), { old: true, e: {} });
    await write(
      'loadthrow',
      'index.js',
      'throw new Error("no DATABASE_URL");\nexport default async () => "never";',
    );
    await write('loadthrow', 'function.yaml', 'version: "2"\npool: { min: 0 }\n');
    const i = await failedWith('loadthrow', 'function_invalid');
    assert.match(i.update_failed!.reason, /no DATABASE_URL/);
    assert.equal(i.version, '1');
    assert.deepEqual(await answer('loadthrow'), { old: true, e: {} });

    await write('loadthrow', 'index.js', 'export default async () => "new"');
    await write('loadthrow', 'function.yaml', 'version: "3"\npool: { min: 0 }\n');
    assert.ok(await replacedBy('loadthrow', '3'), JSON.stringify(await info('loadthrow')));
    assert.equal(await answer('loadthrow'), 'new');
  });

  test('a broken manifest and a TypeScript build error are failed updates too', async () => {
    await h.addFunction('tsfn', {
      'function.yaml': 'version: "1"\nhandler: index.ts\n',
      'index.ts': 'export default async (): Promise<string> => "ts1";\n',
    });
    assert.ok(await eventually(async () => (await info('tsfn')).status === 'ready', 15_000));
    assert.equal(await answer('tsfn'), 'ts1');

    await write('tsfn', 'function.yaml', 'version: "2"\nhandler: index.ts\ntimeout_sec: -1\n');
    const m = await failedWith('tsfn', 'invalid_manifest');
    assert.match(m.update_failed!.reason, /timeout_sec/);
    assert.equal(await answer('tsfn'), 'ts1');

    await write('tsfn', 'function.yaml', 'version: "3"\nhandler: index.ts\n');
    await write(
      'tsfn',
      'index.ts',
      'export default async (): Promise<string> => {\n  const n: = 1;\n};\n',
    );
    const b = await eventually(
      async () => /index\.ts:2:\d+/.test((await info('tsfn')).update_failed?.reason ?? ''),
      15_000,
    );
    assert.ok(b, JSON.stringify(await info('tsfn')));
    assert.equal((await info('tsfn')).version, '1');
    assert.equal(await answer('tsfn'), 'ts1', 'the old build keeps serving');

    await write('tsfn', 'index.ts', 'export default async (): Promise<string> => "ts4";\n');
    await write('tsfn', 'function.yaml', 'version: "4"\nhandler: index.ts\n');
    assert.ok(await replacedBy('tsfn', '4'), JSON.stringify(await info('tsfn')));
    assert.equal(await answer('tsfn'), 'ts4');
  });

  test('a folder that never had a good version is invalid: 409 function_invalid', async () => {
    await h.addFunction('neverok', fn('export default async () => { return 1 +; }'));
    assert.ok(await eventually(async () => (await info('neverok')).status === 'invalid', 15_000));
    assert.equal((await info('neverok')).update_failed, undefined);
    const res = await h.invoke('neverok', {});
    assert.equal(res.status, 409);
    assert.equal((await errorOf(res)).code, 'function_invalid');
  });
});
