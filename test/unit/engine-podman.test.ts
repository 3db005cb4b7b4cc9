// What differs between Docker and Podman, decided in the engine layer: the ulimits every container
// gets, which engine a /_ping answer comes from, how setup starts Podman, where its sockets are, and
// which packages setup installs for it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DIAL_IN_LIMITS } from '../../runtime/dial-in.ts';
import { toCreateOptions } from '../../runtime/engine/docker-engine.ts';
import type { ContainerSpec } from '../../runtime/engine/engine.ts';
import { engineInfoFromPing } from '../../runtime/engine/ping.ts';
import {
  podmanRuntime,
  podmanServiceArgs,
  podmanSockets,
  preferredEngine,
} from '../../runtime/engine/podman.ts';
import { FUNCTION_ULIMITS } from '../../runtime/engine/ulimits.ts';
import { planPackages, type Facts } from '../../scripts/system-packages.ts';

const spec = {
  name: 'c',
  image: 'node:20-bookworm-slim',
  entrypoint: ['node'],
  cmd: ['/titan/node.mjs'],
  env: {},
  labels: {},
  user: '65534:65534',
  workdir: '/fn',
  cpuShare: 0.5,
  cpuLimit: 1,
  memoryBytes: 64 << 20,
  pidsLimit: 64,
  binds: [],
  tmpfs: [],
  log: { maxBytes: 1024, maxFiles: 2 },
  readonlyRootfs: true,
  network: 'none',
  dropAllCapabilities: true,
  noNewPrivileges: true,
  isolation: 'container',
} as unknown as ContainerSpec;

describe('engine differences', () => {
  test('every container is created with nofile and nproc set explicitly, soft equal to hard', () => {
    const ulimits = toCreateOptions(spec).HostConfig?.Ulimits;
    assert.deepEqual(ulimits, [
      { Name: 'nofile', Soft: 4096, Hard: 4096 },
      { Name: 'nproc', Soft: 32768, Hard: 32768 },
    ]);
    // a fresh copy each time: a caller that changes one cannot change the next container's
    ulimits![0]!.Soft = 1;
    assert.equal(toCreateOptions(spec).HostConfig?.Ulimits?.[0]?.Soft, 4096);
  });

  test('nofile leaves room for every dial-in connection a container may hold, and nproc stays within what Podman 4.3 can give', () => {
    const nofile = FUNCTION_ULIMITS.find((u) => u.Name === 'nofile')!;
    const nproc = FUNCTION_ULIMITS.find((u) => u.Name === 'nproc')!;
    assert.ok(
      nofile.Soft >= DIAL_IN_LIMITS.maxConnections + 1024,
      `${nofile.Soft} open files for ${DIAL_IN_LIMITS.maxConnections} connections`,
    );
    assert.ok(
      nproc.Hard <= 32768,
      'Podman 4.3 runs with a hard nproc of 32768; a container cannot be given more',
    );
    assert.ok(
      nproc.Hard >= 64 * 256,
      'nproc counts the function user across all containers: room for 256 full ones',
    );
  });

  test('/_ping headers say which engine answers, its version and API version', () => {
    assert.deepEqual(
      engineInfoFromPing({
        server: 'Docker/20.10.24+dfsg1 (linux)',
        'api-version': '1.41',
        ostype: 'linux',
      }),
      {
        serverVersion: '20.10.24+dfsg1',
        apiVersion: '1.41',
        os: 'linux',
        kind: 'dockerd',
      },
    );
    assert.deepEqual(
      engineInfoFromPing({
        server: 'Libpod/4.3.1 (linux)',
        'api-version': '1.41',
        'libpod-api-version': '4.3.1',
      }),
      {
        serverVersion: '4.3.1',
        apiVersion: '1.41',
        os: 'linux',
        kind: 'podman',
      },
    );
    assert.equal(
      engineInfoFromPing({ server: 'nginx/1.25', 'api-version': '1.41' }),
      undefined,
      'not an engine',
    );
    assert.equal(
      engineInfoFromPing({ server: 'Docker/20.10.24 (linux)' }),
      undefined,
      'no API version',
    );
  });

  test("setup starts Podman's service with runc and its storage, run-time state and lock files apart", () => {
    const args = podmanServiceArgs(
      { root: '/s/engine/podman', runRoot: '/tmp/titan-engine-1', socket: '/s/engine/podman.sock' },
      '/usr/sbin/runc',
    );
    assert.deepEqual(args, [
      '--runtime',
      '/usr/sbin/runc',
      '--root',
      '/s/engine/podman',
      '--runroot',
      '/tmp/titan-engine-1',
      '--tmpdir',
      '/tmp/titan-engine-1/libpod',
      'system',
      'service',
      '--time=0',
      'unix:///s/engine/podman.sock',
    ]);
    assert.ok(
      !podmanServiceArgs({ root: 'r', runRoot: 'rr', socket: 's' }, undefined).includes(
        '--runtime',
      ),
      "without runc: Podman's default",
    );
    assert.equal(
      podmanRuntime((p) => p === '/usr/bin/runc'),
      '/usr/bin/runc',
    );
    assert.equal(
      podmanRuntime(() => false),
      undefined,
    );
  });

  test("Podman's usual sockets: the system's first as root, the user's own first otherwise", () => {
    assert.deepEqual(podmanSockets({ XDG_RUNTIME_DIR: '/run/user/1000' }, false), [
      'unix:///run/user/1000/podman/podman.sock',
      'unix:///run/podman/podman.sock',
    ]);
    assert.deepEqual(podmanSockets({}, true), ['unix:///run/podman/podman.sock']);
    assert.deepEqual(podmanSockets({ XDG_RUNTIME_DIR: '/run/user/0' }, true), [
      'unix:///run/podman/podman.sock',
      'unix:///run/user/0/podman/podman.sock',
    ]);
  });

  test('TITAN_ENGINE chooses the engine; anything else is refused with the values it takes', () => {
    assert.equal(preferredEngine({}), undefined);
    assert.equal(preferredEngine({ TITAN_ENGINE: 'Podman' }), 'podman');
    assert.equal(preferredEngine({ TITAN_ENGINE: 'docker' }), 'dockerd');
    assert.throws(
      () => preferredEngine({ TITAN_ENGINE: 'lxc' }),
      /TITAN_ENGINE="lxc" is not an engine: use docker or podman/,
    );
  });

  test('TITAN_ENGINE=podman on a fresh machine installs podman and runc, never docker.io', () => {
    const fresh = {
      root: true,
      apt: true,
      noInstall: false,
      dockerHost: false,
      engineAnswers: false,
      commands: {
        dockerd: false,
        podman: false,
        docker: false,
        'redis-server': true,
        apparmor_parser: true,
      },
      apparmorEnforced: false,
      redisUrl: true,
      embeddedRedis: true,
      python3: true,
      chromium: true,
      runsc: true,
      gvisor: false,
      wantEngine: 'podman',
      runc: false,
    } as Facts;
    const pkgs = planPackages(fresh).map((n) => `${n.pkg}:${n.required ? 'required' : 'optional'}`);
    assert.deepEqual(pkgs, ['podman:required', 'runc:required', 'podman-docker:optional']);
    // Podman the only engine installed, without runc (Debian's podman is content with crun): runc too
    const onlyPodman = {
      ...fresh,
      wantEngine: undefined,
      commands: { ...fresh.commands, podman: true, docker: true },
    };
    assert.deepEqual(
      planPackages(onlyPodman).map((n) => n.pkg),
      ['runc'],
    );
    // Podman already answering: nothing for the engine
    assert.deepEqual(
      planPackages({
        ...fresh,
        engineAnswers: true,
        commands: { ...fresh.commands, podman: true, docker: true },
        runc: true,
      }),
      [],
    );
  });
});
