// `titan new` on the real engine: each scaffold (node, typescript, python), written into a gateway's
// functions directory, deploys and answers on both routes; the TypeScript one passes `tsc --noEmit`
// on its own (no network, no @types); its handler types are the gateway's own (checked at compile
// time below); bad names, runtimes and existing folders are refused, writing nothing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { scaffold } from '../../gateway/cli/new.ts';
import type * as Titan from '../../gateway/cli/templates/typescript/titan.ts';
import type { HttpFunctionEvent } from '../../gateway/http-function/request.ts';
import type { HttpFunctionAnswer } from '../../gateway/http-function/answer.ts';
import type { Trigger } from '../../gateway/invoke.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

// The types a TypeScript scaffold ships are the gateway's: `npm run typecheck` fails if they drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameTypes: [
  Same<Titan.HttpFunctionEvent, HttpFunctionEvent>,
  Same<Titan.HttpFunctionAnswer, HttpFunctionAnswer>,
  Same<Titan.Trigger, Trigger>,
] = [true, true, true];

const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
const RUNTIMES = ['node', 'typescript', 'python'] as const;

describe('titan new scaffolds (real engine)', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness();
    for (const runtime of RUNTIMES)
      await scaffold(`new-${runtime}`, { runtime, dir: h.functionsDir });
    await h.gw.registry.rescan();
    await h.gw.registry.settled();
  });
  after(() => h?.close());

  for (const runtime of RUNTIMES) {
    test(`the ${runtime} scaffold deploys and answers on /functions/<name>/invoke and /function/<name>`, async () => {
      const name = `new-${runtime}`;
      const info = (await (await h.request(`/functions/${name}`)).json()) as {
        status: string;
        error?: string;
      };
      assert.equal(info.status, 'ready', info.error);
      const res = await h.invoke(name, { name: 'Ada' });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { message: string; invocationId: string };
      assert.equal(body.message, 'hello, Ada');
      assert.equal(body.invocationId, res.headers.get('x-invocation-id'));
      const page = await h.request(`/function/${name}/a/b?x=1`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(await page.text(), `hello from ${name} (GET /a/b)\n`);
    });
  }

  test('the TypeScript scaffold passes tsc --noEmit on its own', async () => {
    assert.deepEqual(sameTypes, [true, true, true]);
    const dir = join(h.functionsDir, 'new-typescript');
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [
      TSC,
      '--noEmit',
      '-p',
      dir,
    ]).catch((e: { stdout: string; stderr: string }) => e);
    assert.equal(`${stdout}${stderr}`, '', 'tsc reports nothing');
  });

  test('a bad name, an unknown runtime or an existing folder is refused and nothing is written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tt-new-'));
    try {
      await scaffold('taken', { dir });
      await assert.rejects(scaffold('taken', { dir, runtime: 'python' }), /already exists/);
      await assert.rejects(scaffold('../escape', { dir }), /is not a function name/);
      await assert.rejects(scaffold('Upper', { dir }), /is not a function name/);
      await assert.rejects(
        scaffold('ok', { dir, runtime: 'go' }),
        /--runtime must be one of node, typescript, python/,
      );
      assert.deepEqual(await readdir(dir), ['taken']);
      assert.deepEqual((await readdir(join(dir, 'taken'))).sort(), ['function.yaml', 'index.js']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
