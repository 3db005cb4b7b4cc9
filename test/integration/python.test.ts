// Python handlers on the real engine: the stdlib-only bootstrap (runtime/bootstrap/python.py) in
// the python image, sync and async handlers, errors, emit, threads for concurrency, the same sandbox.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { defaultConfig } from '../../runtime/config.ts';
import { ensureRuntimeImage } from '../../runtime/image/runtime-image.ts';
import {
  containersOf,
  errorOf,
  eventually,
  startHarness,
  testEngine,
  type FunctionFiles,
  type Harness,
} from '../helpers/harness.ts';
import {
  deletePrefix,
  json,
  readStream,
  redisClient,
  sharedRedisUrl,
  waitFor,
} from '../helpers/events.ts';

const PY = 'runtime: python\n';
const py = (source: string, manifest = ''): FunctionFiles => ({
  'function.yaml': PY + manifest,
  'main.py': source,
});

const functions: Record<string, FunctionFiles> = {
  pysync: py(
    `import threading
def handler(event, context):
    return {"event": event, "id": context.invocation_id, "fn": context.function_name,
            "deadline": context.deadline, "trigger": context.trigger, "thread": threading.current_thread().name,
            "config": context.config}
`,
    'config:\n  greeting: hej\n  limits: { n: 3 }\n',
  ),
  pyasync: {
    'function.yaml': PY,
    'main.py': `import asyncio
from helper import shout
async def handler(event, context):
    await asyncio.sleep(0.01)
    return {"text": shout(event["text"]), "id": context.invocation_id}
`,
    'helper.py': 'def shout(s):\n    return s.upper() + "!"\n',
  },
  pythrows: py(`class Refused(ValueError):
    status = 400
def handler(event, context):
    if event.get("refuse"):
        raise Refused("order must be a number")
    raise ValueError("no such order: " + str(event["order"]))
`),
  pyemit: py(`def handler(event, context):
    context.emit("py.audit", "seen", {"order": event["order"]})
    return {"emitted": True}
`),
  pyslow: py(
    `import time, threading
def handler(event, context):
    time.sleep(0.5)
    return threading.current_thread().name
`,
    'pool:\n  min: 1\n  max: 1\n  concurrency: 4\n',
  ),
  pylog: py(
    `import asyncio, sys
async def handler(event, context):
    print("sync line", event["n"])
    await asyncio.sleep(0.01)
    print("async line", event["n"], file=sys.stderr)
    return event["n"]
`,
    'pool:\n  concurrency: 2\n',
  ),
  pyprobe: py(`import os
def handler(event, context):
    def attempt(path):
        try:
            with open(path, "w") as f:
                f.write("x")
            return "ok"
        except OSError as e:
            return os.strerror(e.errno)
    return {"uid": os.getuid(), "root": attempt("/x"), "code": attempt("/fn/x"), "tmp": attempt("/tmp/x"), "cwd": os.getcwd(),
            "pyc": os.environ.get("PYTHONDONTWRITEBYTECODE")}
`),
};

describe('Python handlers', () => {
  let h: Harness;
  let redis: Redis;
  const info = async (name: string) =>
    (await json(h.request(`/functions/${name}`))).body as {
      status: string;
      runtime: string;
      error?: string;
    };

  before(async () => {
    // CI runs setup first; this makes the test stand alone (and builds the image offline if need be).
    await ensureRuntimeImage(testEngine(), defaultConfig().sandbox.pythonImage, {
      kind: 'python',
    });
    redis = redisClient(await sharedRedisUrl());
    h = await startHarness(functions);
  });
  after(async () => {
    if (h) {
      await h.close();
      assert.deepEqual(await containersOf(h.config), [], 'close removes every container');
      await deletePrefix(redis, h.config.events.keyPrefix);
    }
    redis?.disconnect();
  });

  test('every function deploys as runtime python', async () => {
    for (const name of Object.keys(functions)) {
      const i = await info(name);
      assert.equal(i.status, 'ready', `${name}: ${i.error}`);
      assert.equal(i.runtime, 'python');
    }
  });

  test('a sync handler round trips with the context fields', async () => {
    const before = Date.now();
    const res = await json(h.invoke('pysync', { a: [1, 'two'] }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { event, id, fn, deadline, trigger } = res.body;
    assert.deepEqual(event, { a: [1, 'two'] });
    assert.equal(id, res.headers.get('x-invocation-id'));
    assert.equal(fn, 'pysync');
    assert.ok(typeof deadline === 'number' && deadline > before, `deadline ${deadline}`);
    assert.deepEqual(trigger, { kind: 'http' });
    assert.deepEqual(
      res.body.config,
      { greeting: 'hej', limits: { n: 3 } },
      "the manifest's config: as context.config",
    );
    assert.equal((await json(h.invoke('pysync', ''))).body.event, null, 'an empty body is None');
  });

  test('an async handler is awaited, and imports a module beside it', async () => {
    const res = await json(h.invoke('pyasync', { text: 'hey' }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { text: 'HEY!', id: res.headers.get('x-invocation-id') });
  });

  test('an exception is a 500 function_error with its message', async () => {
    const res = await h.invoke('pythrows', { order: 7 });
    assert.equal(res.status, 500);
    const e = await errorOf(res);
    assert.equal(e.code, 'function_error');
    assert.match(e.message, /no such order: 7/);
    const refused = await h.invoke('pythrows', { refuse: true });
    assert.equal(refused.status, 400, "an exception with status 400-499 is the caller's fault");
    assert.deepEqual(await errorOf(refused), {
      code: 'function_rejected',
      message: 'order must be a number',
      details: { name: 'Refused' },
    });
  });

  test('context.emit lands on its topic with source function:<name>', async () => {
    const res = await json(h.invoke('pyemit', { order: 42 }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { emitted: true }, 'the envelope is unwrapped');
    const key = `${h.config.events.keyPrefix}py.audit`;
    const emitted = await waitFor('the emitted event', async () =>
      (await readStream(redis, key)).find((e) => e.fields.data === '{"order":42}'),
    );
    assert.equal(emitted.fields.type, 'seen');
    assert.equal(emitted.fields.source, 'function:pyemit');
  });

  test('one container serves concurrent invocations on threads', async () => {
    const started = Date.now();
    const replies = await Promise.all([1, 2, 3, 4].map(() => json(h.invoke('pyslow', {}))));
    const took = Date.now() - started;
    for (const r of replies) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await containersOf(h.config, 'pyslow')).length, 1);
    assert.equal(
      new Set(replies.map((r) => r.body)).size,
      4,
      `four threads: ${replies.map((r) => r.body)}`,
    );
    assert.ok(took < 1500, `4 × 0.5 s in one container took ${took} ms`);
  });

  test('output is tagged with the invocation that wrote it, across awaits and threads', async () => {
    const [a, b] = await Promise.all([1, 2].map((n) => h.invoke('pylog', { n })));
    for (const [res, n] of [
      [a!, 1],
      [b!, 2],
    ] as const) {
      assert.equal(res.status, 200);
      const id = res.headers.get('x-invocation-id')!;
      const logs = await waitFor(
        `the logs of ${id}`,
        async () => {
          const r = await json(h.request(`/invocations/${id}/logs`));
          return r.status === 200 && r.body.lines.length === 2 ? r.body.lines : undefined;
        },
        10_000,
      );
      const texts = logs
        .map((l: { stream: string; text: string }) => `${l.stream}:${l.text}`)
        .sort();
      assert.deepEqual(texts, [`stderr:async line ${n}`, `stdout:sync line ${n}`]);
    }
  });

  test('the same sandbox: not root, read-only root and code, writable /tmp', async () => {
    const res = await json(h.invoke('pyprobe', {}));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.notEqual(res.body.uid, 0);
    assert.equal(res.body.uid, Number(h.config.sandbox.user.split(':')[0]));
    assert.equal(res.body.root, 'Read-only file system');
    assert.equal(res.body.code, 'Read-only file system');
    assert.equal(res.body.tmp, 'ok');
    assert.equal(res.body.cwd, '/fn');
    assert.equal(res.body.pyc, '1');
  });

  test('a syntax error is listed invalid with the Python message, invoking it is 409', async () => {
    await h.addFunction('pybroken', py('def handler(event, context)\n    return 1\n'));
    const invalid = await eventually(
      async () => (await info('pybroken')).status === 'invalid',
      15_000,
    );
    assert.ok(invalid, JSON.stringify(await info('pybroken')));
    assert.match(
      (await info('pybroken')).error!,
      /handler failed to load: SyntaxError: expected ':' \(main\.py, line 1\)/,
    );
    const res = await h.invoke('pybroken', {});
    assert.equal(res.status, 409);
    const e = await errorOf(res);
    assert.equal(e.code, 'function_invalid');
    // the same prefix as a Node load error, a broken manifest or a failed build
    assert.match(
      e.message,
      /^function 'pybroken' is invalid: handler failed to load: SyntaxError: expected ':' \(main\.py, line 1\)/,
    );
    assert.deepEqual(
      await containersOf(h.config, 'pybroken'),
      [],
      'the container that failed to load was removed',
    );
  });

  test('a module without handler() is invalid and says what it expected', async () => {
    await h.addFunction('pynohandler', py('def main(event, context):\n    return 1\n'));
    assert.ok(
      await eventually(async () => (await info('pynohandler')).status === 'invalid', 15_000),
    );
    assert.match(
      (await info('pynohandler')).error!,
      /main\.py defines no function named 'handler'/,
    );
  });
});
