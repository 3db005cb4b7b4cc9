// Unit tests for runtime/config.ts: defaults, YAML loading, validation messages and env overrides.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { parse as parseYamlText } from 'yaml';
import { ConfigSchema, defaultConfig, FunctionMemory, loadConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'titan-config-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let n = 0;
/** Writes `text` to a fresh file and returns its path. */
async function yamlFile(text: string): Promise<string> {
  const file = path.join(tmp, `c${n++}.yaml`);
  await writeFile(file, text);
  return file;
}

/** Asserts that `p` rejects with invalid_config and returns the message. */
async function configError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TitanError, `expected TitanError, got ${e}`);
    assert.equal(e.code, 'invalid_config');
    return e.message;
  }
  assert.fail('expected loadConfig to reject');
}

describe('defaults', () => {
  test('defaultConfig has the documented values with absolute paths', () => {
    const c = defaultConfig('/srv/titan');
    assert.deepEqual(c.gateway, {
      host: '127.0.0.1',
      port: 8080,
      maxBodyBytes: 1048576,
      allowedHosts: [],
      cors: { allowOrigins: [], allowHeaders: [], maxAgeSec: 600 },
      headersTimeoutSec: 10,
      requestTimeoutSec: 60,
      keepAliveTimeoutSec: 5,
      maxConnections: 1024,
    });
    assert.equal(c.functionsDir, '/srv/titan/functions');
    assert.equal(c.stateDir, '/srv/titan/.titan');
    assert.equal(c.sandbox.runtime, 'docker');
    assert.equal(c.sandbox.defaultCpu, '50m');
    assert.equal(c.sandbox.defaultMemory, '128Mi');
    assert.equal(c.sandbox.user, '65534:65534');
    assert.deepEqual(c.sandbox.fsRoots, []);
    assert.deepEqual(c.pool, {
      min: 1,
      max: 4,
      concurrency: 1,
      idleSec: 300,
      queueMax: 64,
      queueTimeoutSec: 10,
    });
    assert.deepEqual(c.logs, { maxLinesPerFunction: 2000 });
  });

  test('config/runtime.yaml holds exactly the defaults, plus the ./inbox file source it enables', () => {
    const text = readFileSync(new URL('../../config/runtime.yaml', import.meta.url), 'utf8');
    const { sources, ...file } = v.parse(ConfigSchema, parseYamlText(text));
    const { sources: noSources, ...defaults } = v.parse(ConfigSchema, {});
    assert.deepEqual(noSources, [], 'no sources unless configured');
    assert.deepEqual(sources, [
      {
        type: 'fs',
        path: './inbox',
        topic: 'files.v1',
        debounceMs: 500,
        recursive: true,
        ignore: [],
      },
    ]);
    assert.deepEqual(file.sandbox.fsRoots, ['./inbox'], 'the file source directory is mountable');
    assert.deepEqual({ ...file, sandbox: { ...file.sandbox, fsRoots: [] } }, defaults);
  });

  test('a missing file at the default path means all defaults', async () => {
    const c = await loadConfig({ cwd: tmp, env: {} });
    assert.deepEqual(c, defaultConfig(tmp));
  });

  test('an empty file or empty sections mean all defaults', async () => {
    assert.deepEqual(
      await loadConfig({ path: await yamlFile(''), cwd: tmp, env: {} }),
      defaultConfig(tmp),
    );
    const c = await loadConfig({ path: await yamlFile('gateway:\npool:\n'), cwd: tmp, env: {} });
    assert.deepEqual(c, defaultConfig(tmp));
  });
});

describe('loading', () => {
  test('reads the default path relative to cwd', async () => {
    const cwd = await mkdtemp(path.join(tmp, 'cwd-'));
    await mkdir(path.join(cwd, 'config'));
    await writeFile(path.join(cwd, 'config/runtime.yaml'), 'gateway:\n  port: 9000\n');
    const c = await loadConfig({ cwd, env: {} });
    assert.equal(c.gateway.port, 9000);
    assert.equal(c.gateway.host, '127.0.0.1');
  });

  test('TITAN_CONFIG picks the file', async () => {
    const file = await yamlFile('pool:\n  max: 9\n');
    const c = await loadConfig({ cwd: tmp, env: { TITAN_CONFIG: file } });
    assert.equal(c.pool.max, 9);
  });

  test('a missing file at an explicit path is an error naming it', async () => {
    const missing = path.join(tmp, 'nope.yaml');
    assert.match(
      await configError(loadConfig({ path: missing, env: {} })),
      /nope\.yaml: file not found/,
    );
    assert.match(
      await configError(loadConfig({ cwd: tmp, env: { TITAN_CONFIG: missing } })),
      /file not found/,
    );
  });

  test('relative paths resolve against cwd', async () => {
    const file = await yamlFile(
      'functions_dir: fns\nstate_dir: ./var/state\nsandbox:\n  fs_roots: [data, /abs/root]\n',
    );
    const c = await loadConfig({ path: file, cwd: '/srv/app', env: {} });
    assert.equal(c.functionsDir, '/srv/app/fns');
    assert.equal(c.stateDir, '/srv/app/var/state');
    assert.deepEqual(c.sandbox.fsRoots, ['/srv/app/data', '/abs/root']);
  });

  test('bad YAML reports the file, line and column', async () => {
    const file = await yamlFile('gateway:\n  port: 1\n  port: 2\n');
    const msg = await configError(loadConfig({ path: file, env: {} }));
    assert.match(
      msg,
      new RegExp(`${path.basename(file)}: line 3, column 3: Map keys must be unique`),
    );
  });

  test('a list at the top level is rejected', async () => {
    const msg = await configError(loadConfig({ path: await yamlFile('- a\n- b\n'), env: {} }));
    assert.match(msg, /must be a mapping of keys \(got a list\)/);
  });
});

describe('validation', () => {
  test('unknown keys are rejected with their path, at any depth', async () => {
    const file = await yamlFile('gateway:\n  hots: x\n  bogus: 1\nextra: true\n');
    const msg = await configError(loadConfig({ path: file, env: {} }));
    assert.match(
      msg,
      /gateway\.hots: unknown key \(allowed keys: host, port, max_body_bytes, allowed_hosts, cors, headers_timeout_sec, request_timeout_sec, keep_alive_timeout_sec, max_connections\)/,
    );
    assert.match(msg, /gateway\.bogus: unknown key/);
    assert.match(
      msg,
      /: extra: unknown key \(allowed keys: gateway, functions_dir, state_dir, sandbox, pool, events, logs, sources\)/,
    );
  });

  test('every problem is listed with its key path and the file name', async () => {
    const file = await yamlFile(
      [
        'gateway:',
        '  port: 70000',
        '  max_body_bytes: 0',
        'sandbox:',
        '  runtime: lxc',
        '  default_cpu: 1.5x',
        '  default_memory: 1Mi',
        '  user: "0:0"',
        '  pids_limit: -1',
        'pool:',
        '  concurrency: 1.5',
        '  max: 0',
      ].join('\n'),
    );
    const msg = await configError(loadConfig({ path: file, env: {} }));
    const name = path.basename(file);
    for (const expected of [
      'gateway.port: must be <= 65535 (got 70000)',
      'gateway.max_body_bytes: must be >= 1 (got 0)',
      'sandbox.runtime: must be one of "docker", "podman" (got "lxc")',
      "sandbox.default_cpu: invalid CPU quantity '1.5x'",
      'sandbox.default_memory: must be at least 16Mi',
      'sandbox.user: must not be root (uid 0)',
      'sandbox.pids_limit: must be >= 1 (got -1)',
      'pool.concurrency: must be an integer (got 1.5)',
      'pool.max: must be >= 1 (got 0)',
    ]) {
      assert.ok(msg.includes(`${name}: ${expected}`), `missing "${expected}" in:\n${msg}`);
    }
    assert.match(msg, /\(9 problems\)/);
  });

  test('pool.min must not exceed pool.max', async () => {
    const msg = await configError(
      loadConfig({ path: await yamlFile('pool:\n  min: 5\n  max: 2\n'), env: {} }),
    );
    assert.match(msg, /pool\.min: must be <= pool\.max \(got min 5, max 2\)/);
  });

  test('podman, port 0 and a numeric user are accepted', async () => {
    const file = await yamlFile(
      'gateway:\n  port: 0\nsandbox:\n  runtime: podman\n  user: "1000"\n',
    );
    const c = await loadConfig({ path: file, env: {} });
    assert.equal(c.gateway.port, 0);
    assert.equal(c.sandbox.runtime, 'podman');
    assert.equal(c.sandbox.user, '1000');
  });

  test('FunctionMemory reports a bad quantity once, without throwing, under default valibot options', () => {
    const r = v.safeParse(FunctionMemory, 'lots');
    assert.equal(r.success, false);
    assert.equal(r.issues!.length, 1);
    assert.match(r.issues![0].message, /invalid memory quantity 'lots'/);
  });

  test('type errors say what was expected and what was found', async () => {
    const msg = await configError(
      loadConfig({ path: await yamlFile('gateway: 3\nfunctions_dir: [a]\n'), env: {} }),
    );
    assert.match(msg, /gateway: must be a mapping \(got 3\)/);
    assert.match(msg, /functions_dir: must be a string \(got a list\)/);
  });
});

describe('env overrides', () => {
  test('TITAN_PORT, TITAN_HOST, TITAN_FUNCTIONS_DIR and TITAN_STATE_DIR win over the file', async () => {
    const file = await yamlFile(
      'gateway:\n  port: 9000\n  host: 0.0.0.0\nfunctions_dir: /from/file\n',
    );
    const c = await loadConfig({
      path: file,
      cwd: '/srv',
      env: {
        TITAN_PORT: '8181',
        TITAN_HOST: '::1',
        TITAN_FUNCTIONS_DIR: 'fns',
        TITAN_STATE_DIR: '/var/titan',
      },
    });
    assert.equal(c.gateway.port, 8181);
    assert.equal(c.gateway.host, '::1');
    assert.equal(c.functionsDir, '/srv/fns');
    assert.equal(c.stateDir, '/var/titan');
  });

  test('TITAN_PORT=0 means any free port', async () => {
    const c = await loadConfig({ cwd: tmp, env: { TITAN_PORT: '0' } });
    assert.equal(c.gateway.port, 0);
  });

  test('an empty env var counts as unset', async () => {
    const c = await loadConfig({ cwd: tmp, env: { TITAN_PORT: '', TITAN_HOST: '' } });
    assert.equal(c.gateway.port, 8080);
    assert.equal(c.gateway.host, '127.0.0.1');
  });

  for (const bad of ['abc', '-1', '65536', '80.5', '1e3']) {
    test(`TITAN_PORT=${bad} is rejected`, async () => {
      const msg = await configError(loadConfig({ cwd: tmp, env: { TITAN_PORT: bad } }));
      assert.match(
        msg,
        new RegExp(
          `TITAN_PORT: must be an integer from 0 to 65535 \\(got "${bad.replace('.', '\\.')}"\\)`,
        ),
      );
    });
  }

  test('env problems are listed together with file problems', async () => {
    const file = await yamlFile('pool:\n  min: -1\n');
    const msg = await configError(loadConfig({ path: file, env: { TITAN_PORT: 'x' } }));
    assert.match(msg, /pool\.min: must be >= 0/);
    assert.match(msg, /TITAN_PORT: must be an integer/);
  });
});

describe('gateway: browsers and slow clients', () => {
  test('allowed_hosts, cors and the connection limits are read as written', async () => {
    const file = await yamlFile(
      [
        'gateway:',
        '  allowed_hosts: [titan.example.com, "*.lan.example", 10.0.0.5, "[fd00::5]"]',
        '  cors:',
        '    allow_origins: [http://localhost:3000, https://app.example.com]',
        '    allow_headers: [x-request-id]',
        '    max_age_sec: 60',
        '  headers_timeout_sec: 2.5',
        '  request_timeout_sec: 30',
        '  keep_alive_timeout_sec: 1',
        '  max_connections: 10',
      ].join('\n'),
    );
    const { gateway } = await loadConfig({ path: file, env: {} });
    assert.deepEqual(gateway.allowedHosts, [
      'titan.example.com',
      '*.lan.example',
      '10.0.0.5',
      '[fd00::5]',
    ]);
    assert.deepEqual(gateway.cors, {
      allowOrigins: ['http://localhost:3000', 'https://app.example.com'],
      allowHeaders: ['x-request-id'],
      maxAgeSec: 60,
    });
    assert.deepEqual(
      [
        gateway.headersTimeoutSec,
        gateway.requestTimeoutSec,
        gateway.keepAliveTimeoutSec,
        gateway.maxConnections,
      ],
      [2.5, 30, 1, 10],
    );
  });

  test('"*", ports and URLs in allowed_hosts are refused, each saying why', async () => {
    const file = await yamlFile(
      'gateway:\n  allowed_hosts: ["*", "titan.example.com:8080", "http://titan.example.com"]\n',
    );
    const msg = await configError(loadConfig({ path: file, env: {} }));
    assert.match(
      msg,
      /gateway\.allowed_hosts\[0\]: must name hosts: "\*" would accept any DNS name, which is what DNS rebinding needs/,
    );
    assert.match(
      msg,
      /gateway\.allowed_hosts\[1\]: must be a host name or address without a port, .* \(got "titan\.example\.com:8080"\)/,
    );
    assert.match(msg, /gateway\.allowed_hosts\[2\]: must be a host name or address without a port/);
    assert.match(msg, /\(3 problems\)/);
  });

  test('allow_origins takes origins exactly as browsers send them: no *, null, path or upper case', async () => {
    const file = await yamlFile(
      'gateway:\n  cors:\n    allow_origins: ["*", "null", "http://localhost:3000/", "HTTP://App.example.com", "ftp://x.example"]\n',
    );
    const msg = await configError(loadConfig({ path: file, env: {} }));
    const origin =
      'must be an origin as a browser sends it: scheme://host\\[:port\\], no path and no \\*';
    assert.match(
      msg,
      new RegExp(`gateway\\.cors\\.allow_origins\\[0\\]: ${origin} \\(got "\\*"\\)`),
    );
    assert.match(
      msg,
      new RegExp(`gateway\\.cors\\.allow_origins\\[1\\]: ${origin} \\(got "null"\\)`),
    );
    assert.match(
      msg,
      /allow_origins\[2\]: .*\(got "http:\/\/localhost:3000\/"; did you mean "http:\/\/localhost:3000"\?\)/,
    );
    assert.match(
      msg,
      /allow_origins\[3\]: .*\(got "HTTP:\/\/App\.example\.com"; did you mean "http:\/\/app\.example\.com"\?\)/,
    );
    assert.match(msg, /allow_origins\[4\]: .*\(got "ftp:\/\/x\.example"\)/);
    assert.match(msg, /\(5 problems\)/);
  });

  test('timeouts must be positive, headers_timeout_sec at most request_timeout_sec, max_connections >= 1', async () => {
    const file = await yamlFile(
      'gateway:\n  headers_timeout_sec: 0\n  keep_alive_timeout_sec: -1\n  max_connections: 0\n  cors:\n    allow_headers: ["x y"]\n',
    );
    const msg = await configError(loadConfig({ path: file, env: {} }));
    assert.match(msg, /gateway\.headers_timeout_sec: must be > 0 \(got 0\)/);
    assert.match(msg, /gateway\.keep_alive_timeout_sec: must be > 0 \(got -1\)/);
    assert.match(msg, /gateway\.max_connections: must be >= 1 \(got 0\)/);
    assert.match(msg, /gateway\.cors\.allow_headers\[0\]: must be a header name \(got "x y"\)/);
    const order = await configError(
      loadConfig({ path: await yamlFile('gateway:\n  headers_timeout_sec: 90\n'), env: {} }),
    );
    assert.match(
      order,
      /gateway\.headers_timeout_sec: must be <= gateway\.request_timeout_sec \(got 90, request_timeout_sec 60\)/,
    );
  });
});

describe('events: the reserved namespace and the bounds', () => {
  test('the bounds have their documented defaults', () => {
    const e = defaultConfig('/srv/titan').events;
    assert.deepEqual(
      {
        results: e.resultsMaxlen,
        topic: e.topicMaxlen,
        dlq: e.dlqMaxlen,
        queue: e.queueMaxlen,
        backlog: e.asyncBacklogMax,
        emits: e.maxEmitsPerInvocation,
        attempts: e.attemptsTtlSec,
        async: e.asyncResultTtlSec,
      },
      {
        results: 100_000,
        topic: 100_000,
        dlq: 100_000,
        queue: 100_000,
        backlog: 10_000,
        emits: 100,
        attempts: 86_400,
        async: 86_400,
      },
    );
    assert.deepEqual(
      [e.resultsStream, e.dlqStream, e.queuePrefix],
      ['titan.results', 'titan.dlq', 'titan.q.'],
    );
  });

  test('results_stream, dlq_stream and queue_prefix must start with titan., each named', async () => {
    const file = await yamlFile(
      'events:\n  results_stream: results\n  dlq_stream: dead.letters\n  queue_prefix: "q."\n',
    );
    const msg = await configError(loadConfig({ path: file, env: {} }));
    assert.match(msg, /\(3 problems\)/);
    assert.match(
      msg,
      /events\.results_stream: must start with the reserved namespace 'titan\.' \(got "results"\), so that no topic can name or match the results/,
    );
    assert.match(
      msg,
      /events\.dlq_stream: must start with the reserved namespace 'titan\.' \(got "dead\.letters"\)/,
    );
    assert.match(
      msg,
      /events\.queue_prefix: must start with the reserved namespace 'titan\.' \(got "q\."\), so that no topic can name or match a function's queue/,
    );
  });

  test('names inside the namespace, other than the defaults, are accepted', async () => {
    const file = await yamlFile(
      'events:\n  results_stream: titan.out\n  dlq_stream: titan.dead\n  queue_prefix: titan.work.\n',
    );
    const c = await loadConfig({ path: file, env: {} });
    assert.deepEqual(
      [c.events.resultsStream, c.events.dlqStream, c.events.queuePrefix],
      ['titan.out', 'titan.dead', 'titan.work.'],
    );
  });

  test('a results or DLQ stream under queue_prefix would be a function queue: refused, with every cross-key problem at once', async () => {
    const file = await yamlFile('events:\n  queue_prefix: "titan."\n  queue_maxlen: 5\n');
    const msg = await configError(loadConfig({ path: file, env: {} }));
    assert.match(msg, /\(3 problems\)/);
    assert.match(
      msg,
      /events\.async_backlog_max: must be <= events\.queue_maxlen \(got 10000, queue_maxlen 5\)/,
    );
    assert.match(
      msg,
      /events\.results_stream: must not start with events\.queue_prefix \(got "titan\.results", queue_prefix "titan\."\): it would be a function's queue/,
    );
    assert.match(
      msg,
      /events\.dlq_stream: must not start with events\.queue_prefix \(got "titan\.dlq", queue_prefix "titan\."\)/,
    );
  });

  test('async_backlog_max may not exceed queue_maxlen; the bounds must be positive', async () => {
    const over = await configError(
      loadConfig({
        path: await yamlFile('events:\n  queue_maxlen: 50\n  async_backlog_max: 60\n'),
        env: {},
      }),
    );
    assert.match(
      over,
      /events\.async_backlog_max: must be <= events\.queue_maxlen \(got 60, queue_maxlen 50\)/,
    );
    const zero = await configError(
      loadConfig({
        path: await yamlFile(
          'events:\n  topic_maxlen: 0\n  dlq_maxlen: -1\n  attempts_ttl_sec: 0\n  max_emits_per_invocation: 10001\n',
        ),
        env: {},
      }),
    );
    assert.match(zero, /\(4 problems\)/);
    assert.match(zero, /events\.topic_maxlen: must be >= 1 \(got 0\)/);
    assert.match(zero, /events\.dlq_maxlen: must be >= 1 \(got -1\)/);
    assert.match(zero, /events\.attempts_ttl_sec: must be >= 1 \(got 0\)/);
    assert.match(zero, /events\.max_emits_per_invocation: must be <= 10000 \(got 10001\)/);
  });

  test('a source topic in the reserved namespace is refused, in any case and after a ":"', async () => {
    const file = await yamlFile(
      [
        'sources:',
        '  - { type: fs, path: ./a, topic: titan.attempts }',
        '  - { type: fs, path: ./b, topic: TITAN.dlq }',
        '  - { type: fs, path: ./c, topic: "other:titan.q.x" }',
        '  - { type: fs, path: ./d, topic: titanic.files }',
        '  - { type: fs, path: ./e, topic: news.titan.launch }',
      ].join('\n'),
    );
    const msg = await configError(loadConfig({ path: file, env: {}, cwd: tmp }));
    assert.match(msg, /\(3 problems\)/);
    assert.match(
      msg,
      /sources\[0\]\.topic: 'titan\.attempts' is one of the runtime's own streams or keys: names starting with 'titan\.' \(in any case, also after a ':'\) are reserved/,
    );
    assert.match(msg, /sources\[1\]\.topic: 'TITAN\.dlq' is one of the runtime's own streams/);
    assert.match(
      msg,
      /sources\[2\]\.topic: 'other:titan\.q\.x' is one of the runtime's own streams/,
    );
    assert.doesNotMatch(msg, /sources\[[34]\]/);
  });
});
