// A function author (or a config) against the isolation setting: nothing but `container` or `gvisor`
// is accepted, no engine runtime name ever comes from a manifest, a gvisor function never quietly runs
// under runc (no stem cell, no engine without runsc: it is invalid, saying what to add to daemon.json).
// The registry runs on the in-memory engine (test/helpers/fake-engine.ts), which has runsc or not.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { defaultConfig, loadConfig, type RuntimeConfig } from '../../runtime/config.ts';
import { toCreateOptions } from '../../runtime/engine/docker-engine.ts';
import type { ContainerSpec } from '../../runtime/engine/engine.ts';
import {
  DAEMON_JSON_SNIPPET,
  daemonConfigArgs,
  GVISOR_RUNTIME,
  type Isolation,
} from '../../runtime/engine/runtimes.ts';
import { TitanError } from '../../runtime/errors.ts';
import { resolveManifest } from '../../runtime/manifest.ts';
import { Registry } from '../../runtime/registry.ts';
import { containerSpecFor, sandboxLimits } from '../../runtime/sandbox.ts';
import { FakeEngine } from '../helpers/fake-engine.ts';

const HANDLER = 'export default async () => "played by the fake engine"';

describe('security: isolation in manifests and config', () => {
  const config = defaultConfig('/tmp');
  const resolve = (raw: unknown) =>
    resolveManifest(raw, { dir: '/tmp/f', folderName: 'f', config });
  const refusal = (raw: unknown): string => {
    try {
      resolve(raw);
    } catch (err) {
      assert.ok(err instanceof TitanError && err.code === 'invalid_manifest', String(err));
      return err.message;
    }
    assert.fail(`accepted ${JSON.stringify(raw)}`);
  };

  test('an engine runtime name, another case, padding or a structure is refused with the choices', () => {
    for (const isolation of [
      'runc',
      'runsc',
      'io.containerd.runc.v2',
      'kata',
      'GVISOR',
      'gvisor ',
      '',
      null,
      { runtime: 'runsc' },
      ['gvisor'],
    ]) {
      const message = refusal({ isolation });
      assert.match(message, /^function\.yaml: isolation: /, JSON.stringify(isolation));
      assert.match(message, /"container" \| "gvisor"|container, gvisor|container.*gvisor/, message);
    }
  });

  test('absent: the config default (container); a manifest can ask for gvisor or container', () => {
    assert.equal(resolve({}).isolation, 'container');
    assert.equal(resolve({ isolation: 'gvisor' }).isolation, 'gvisor');
    const gvisorByDefault = {
      ...config,
      sandbox: { ...config.sandbox, isolation: 'gvisor' as const },
    };
    assert.equal(
      resolveManifest({}, { dir: '/tmp/f', folderName: 'f', config: gvisorByDefault }).isolation,
      'gvisor',
    );
    assert.equal(
      resolveManifest(
        { isolation: 'container' },
        { dir: '/tmp/f', folderName: 'f', config: gvisorByDefault },
      ).isolation,
      'container',
    );
  });

  test('sandbox.isolation in the config takes only container or gvisor', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tg-'));
    try {
      const file = join(dir, 'runtime.yaml');
      await writeFile(file, 'sandbox:\n  isolation: runsc\n');
      await assert.rejects(
        loadConfig({ path: file, env: {} }),
        (err: unknown) =>
          err instanceof TitanError &&
          err.code === 'invalid_config' &&
          /sandbox\.isolation/.test(err.message),
      );
      await writeFile(file, 'sandbox:\n  isolation: gvisor\n');
      assert.equal((await loadConfig({ path: file, env: {} })).sandbox.isolation, 'gvisor');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the engine is only ever given runsc or nothing: a forged isolation value passes no name through', () => {
    const spec = containerSpecFor(resolve({ isolation: 'gvisor' }), sandboxLimits(config), {
      containerName: 'c',
      socketDir: '/tmp/s',
      scope: 's',
    });
    assert.equal(toCreateOptions(spec).HostConfig?.Runtime, GVISOR_RUNTIME);
    assert.equal(
      'Runtime' in toCreateOptions({ ...spec, isolation: 'container' }).HostConfig!,
      false,
      'runc: the engine default, unnamed',
    );
    for (const forged of ['runc', 'kata', '../../bin/sh', 'runsc --debug']) {
      const options = toCreateOptions({ ...spec, isolation: forged as Isolation } as ContainerSpec);
      assert.equal('Runtime' in options.HostConfig!, false, forged);
    }
    // The rest of the sandbox is what runc gets, key for key.
    const { Runtime, ...gvisorHost } = toCreateOptions(spec).HostConfig!;
    assert.equal(Runtime, GVISOR_RUNTIME);
    assert.deepEqual(gvisorHost, toCreateOptions({ ...spec, isolation: 'container' }).HostConfig);
  });

  test("setup's daemon.json registers runsc with no network and only connecting to host sockets", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tg-'));
    try {
      assert.deepEqual(
        await daemonConfigArgs(join(dir, 'engine'), join(dir, 'no-runsc')),
        [],
        'no runsc installed: no config file',
      );
      const fake = join(dir, 'runsc');
      await writeFile(fake, '#!/bin/sh\n', { mode: 0o755 });
      const args = await daemonConfigArgs(join(dir, 'engine'), fake);
      assert.deepEqual(args, ['--config-file', join(dir, 'engine', 'daemon.json')]);
      const { readFile } = await import('node:fs/promises');
      assert.deepEqual(JSON.parse(await readFile(args[1]!, 'utf8')), {
        runtimes: { runsc: { path: fake, runtimeArgs: ['--network=none', '--host-uds=open'] } },
      });
      assert.equal(
        DAEMON_JSON_SNIPPET,
        '{"runtimes":{"runsc":{"path":"/usr/bin/runsc","runtimeArgs":["--network=none","--host-uds=open"]}}}',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('security: a gvisor function on an engine with and without runsc (fake engine)', () => {
  let dir: string;
  let config: RuntimeConfig;
  let engine: FakeEngine;
  let registry: Registry;
  const write = async (folder: string, manifest: string) => {
    await mkdir(join(config.functionsDir, folder), { recursive: true });
    await writeFile(join(config.functionsDir, folder, 'function.yaml'), manifest);
    await writeFile(join(config.functionsDir, folder, 'index.js'), HANDLER);
  };
  const reconcile = async () => {
    await registry.rescan();
    await registry.settled();
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tg-'));
    const base = defaultConfig(dir);
    config = {
      ...base,
      functionsDir: join(dir, 'functions'),
      stateDir: join(dir, 's'),
      // stem cells on: a runc cell is ready, and a gvisor function must still not take it
      sandbox: {
        ...base.sandbox,
        startupTimeoutSec: 5,
        stemCells: { node: { min: 1, max: 1 }, python: { min: 0, max: 0 } },
      },
    };
    await mkdir(config.functionsDir, { recursive: true });
    engine = new FakeEngine();
    registry = new Registry({ config, engine, scope: 'gvisor-unit' });
  });
  afterEach(async () => {
    await registry.close();
    assert.deepEqual(engine.live(), [], 'close removes every container');
    await rm(dir, { recursive: true, force: true });
  });

  test('without runsc: invalid at deploy with a stable code and the exact daemon.json snippet; no container; runc functions deploy', async () => {
    await write('guarded', 'isolation: gvisor\npool: { min: 1, max: 1 }\n');
    await write('plain', 'pool: { min: 1, max: 1 }\n');
    await reconcile();
    const info = registry.info('guarded')!;
    assert.equal(info.status, 'invalid');
    assert.equal(info.isolation, 'gvisor');
    assert.ok(
      info.error!.startsWith(
        'isolation_unavailable: isolation gvisor needs the container engine to have the runsc runtime registered, and it has runc.',
      ),
      info.error,
    );
    assert.ok(
      info.error!.includes(
        `add ${DAEMON_JSON_SNIPPET} to /etc/docker/daemon.json and restart dockerd`,
      ),
      info.error,
    );
    assert.equal(registry.get('guarded'), undefined, 'nothing serves it');
    assert.deepEqual(engine.live('guarded'), [], 'no container was started under runc instead');
    assert.equal(registry.info('plain')!.status, 'ready');
    assert.equal(registry.info('plain')!.isolation, 'container');
  });

  test('an engine that cannot list its runtimes: invalid too, never a runc fallback', async () => {
    engine.runtimes = async () => {
      throw new Error('engine went away');
    };
    await write('guarded', 'isolation: gvisor\n');
    await reconcile();
    assert.match(
      registry.info('guarded')!.error!,
      /^isolation_unavailable: .*it did not list its runtimes/,
    );
    assert.deepEqual(engine.live('guarded'), []);
  });

  test("on Podman, which ignores a container's runtime: invalid even when it lists runsc, never runc in its place", async () => {
    engine.registeredRuntimes = ['crun', 'kata', 'runc', GVISOR_RUNTIME];
    const ping = engine.ping.bind(engine);
    engine.ping = async () => ({ ...(await ping()), kind: 'podman' as const });
    await write('guarded', 'isolation: gvisor\n');
    await write('plain', 'pool: { min: 1, max: 1 }\n');
    await reconcile();
    assert.match(
      registry.info('guarded')!.error!,
      /^isolation_unavailable: isolation gvisor cannot be chosen per container on Podman/,
    );
    assert.deepEqual(engine.live('guarded'), []);
    assert.equal(registry.info('plain')!.status, 'ready');
  });

  test('runsc registered: it deploys, every container of it asks for gvisor, none is a stem cell', async () => {
    engine.registeredRuntimes = ['runc', GVISOR_RUNTIME];
    await write('guarded', 'isolation: gvisor\npool: { min: 0, max: 2 }\n');
    await reconcile();
    const info = registry.info('guarded')!;
    assert.equal(info.status, 'ready');
    assert.equal(info.cold_start.path, 'container');
    assert.match(info.cold_start.reason, /^classic start: isolation gvisor/);
    const ctx = { invocationId: 'i1', deadline: Date.now() + 5000, trigger: {} };
    await registry.get('guarded')!.invoke('{}', ctx);
    const mine = engine.live('guarded');
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.spec.isolation, 'gvisor');
    assert.equal(mine[0]!.spec.labels['titan.stem'], undefined);
    assert.equal(registry.info('guarded')!.cold_start.stem_cell, 0);
  });

  test('runsc unregistered later (engine restarted without it): the next deploy of the folder is invalid', async () => {
    engine.registeredRuntimes = ['runc', GVISOR_RUNTIME];
    await write('guarded', 'version: "1"\nisolation: gvisor\n');
    await reconcile();
    assert.equal(registry.info('guarded')!.status, 'ready');
    engine.registeredRuntimes = ['runc'];
    await write('guarded', 'version: "2"\nisolation: gvisor\n');
    await reconcile();
    const info = registry.info('guarded')!;
    assert.match(info.error ?? info.update_failed?.reason ?? '', /^isolation_unavailable: /);
    assert.ok(
      engine.live('guarded').every((c) => c.spec.isolation === 'gvisor'),
      'nothing of it runs under runc',
    );
  });
});
