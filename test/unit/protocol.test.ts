// Both bootstraps, run as plain host processes, against the protocol as runtime/protocol.ts defines it:
// the gateway's side (a DialInAgent and the protocol's readers) is the real one, only the container is not.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DIAL_IN_LIMITS, DialInAgent } from '../../runtime/dial-in.ts';
import { TitanError } from '../../runtime/errors.ts';
import {
  handlerLoaded,
  HEADER,
  openEnvelope,
  readErrorBody,
  readInvokeReply,
  ROUTE,
  SOCKET_FILE,
} from '../../runtime/protocol.ts';

const BOOTSTRAP = fileURLToPath(new URL('../../runtime/bootstrap/', import.meta.url));

const HANDLERS = {
  node: {
    file: 'handler.mjs',
    command: [process.execPath, join(BOOTSTRAP, 'node.mjs')],
    ok: `export default async (event, context) => {
  if (event.emit) context.emit('orders.v1', 'order_seen', { n: 1 });
  if (event.reject) throw Object.assign(new Error('bad input'), { status: 400 });
  if (event.fail) throw new TypeError('boom');
  return { echo: event, fn: context.functionName };
};`,
    broken: 'export default async () => {',
  },
  python: {
    file: 'handler.py',
    command: ['python3', join(BOOTSTRAP, 'python.py')],
    ok: `class Rejected(Exception):
    status = 400

def handler(event, context):
    if event.get("emit"):
        context.emit("orders.v1", "order_seen", {"n": 1})
    if event.get("reject"):
        raise Rejected("bad input")
    if event.get("fail"):
        raise TypeError("boom")
    return {"echo": event, "fn": context.function_name}
`,
    broken: 'def handler(event, context)\n',
  },
} as const;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A bootstrap process dialed into a gateway-side agent, as in a container but on the host. */
class Bootstrap {
  private constructor(
    readonly agent: DialInAgent,
    private readonly child: ChildProcess,
    readonly output: () => string,
  ) {}

  static async start(
    dir: string,
    runtime: keyof typeof HANDLERS,
    env: Record<string, string>,
  ): Promise<Bootstrap> {
    const agent = new DialInAgent(join(dir, SOCKET_FILE), DIAL_IN_LIMITS);
    await agent.listen();
    const [cmd, ...args] = HANDLERS[runtime].command;
    const child = spawn(cmd, args, {
      env: { PATH: process.env.PATH, TITAN_SOCKET: agent.socketPath, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    return new Bootstrap(agent, child, () => out);
  }

  send(method: string, path: string, body?: unknown): Promise<Reply> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer to ${method} ${path} in 15 s; output: ${this.output()}`)),
        15_000,
      );
      const req = request(
        {
          socketPath: this.agent.socketPath,
          agent: this.agent,
          method,
          path,
          headers: text === undefined ? {} : { 'content-type': 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
        },
      );
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(text);
    });
  }

  invoke(event: unknown) {
    return this.send('POST', ROUTE.invoke, {
      event,
      context: { invocationId: 'inv-1', deadline: Date.now() + 10_000, trigger: { kind: 'http' } },
    });
  }

  async stop(): Promise<void> {
    // A bootstrap that already died (it failed to start) emits no second exit to wait for.
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGKILL');
      await gone;
    }
    this.agent.close(new Error('test over'));
  }
}

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

for (const runtime of ['node', 'python'] as const) {
  describe(`the ${runtime} bootstrap speaks runtime/protocol.ts`, () => {
    const h = HANDLERS[runtime];
    const folder = async (source: string) => {
      const dir = await mkdtemp(join(tmpdir(), 'tp-'));
      dirs.push(dir);
      await writeFile(join(dir, h.file), source);
      return dir;
    };
    const withBootstrap = async (
      source: string,
      env: Record<string, string>,
      body: (b: Bootstrap, dir: string) => Promise<void>,
    ) => {
      const dir = await folder(source);
      const b = await Bootstrap.start(dir, runtime, {
        TITAN_FUNCTION: 'proto',
        TITAN_HANDLER: join(dir, h.file),
        ...env,
      });
      try {
        await body(b, dir);
      } finally {
        await b.stop();
      }
    };

    test('health, a result, an envelope with emits, an error and a rejection', () =>
      withBootstrap(h.ok, {}, async (b) => {
        const health = await b.send('GET', ROUTE.health);
        assert.equal(handlerLoaded(health.status, health.body), true);

        const plain = await b.invoke({ a: 1 });
        const reply = readInvokeReply(plain.headers, plain.body);
        assert.equal(reply.outcome, 'ok');
        assert.equal(reply.envelope, false);
        assert.deepEqual(JSON.parse(reply.body), { echo: { a: 1 }, fn: 'proto' });

        const emitted = await b.invoke({ emit: true });
        const env = readInvokeReply(emitted.headers, emitted.body);
        assert.equal(emitted.headers[HEADER.envelope], '1');
        assert.equal(env.outcome, 'ok');
        const opened = openEnvelope(env.body, 'proto');
        assert.deepEqual(JSON.parse(opened.resultJson), { echo: { emit: true }, fn: 'proto' });
        assert.deepEqual(opened.emits, [
          { topic: 'orders.v1', type: 'order_seen', data: { n: 1 } },
        ]);

        const failed = await b.invoke({ fail: true });
        assert.equal(failed.status, 200, 'an error is an outcome, not an HTTP status');
        assert.equal(readInvokeReply(failed.headers, failed.body).outcome, 'error');
        const err = readErrorBody(failed.body);
        assert.equal(err?.name, 'TypeError');
        assert.match(err?.message ?? '', /boom/);
        assert.equal(err?.rejected, false);

        const rejected = readErrorBody((await b.invoke({ reject: true })).body);
        assert.match(rejected?.message ?? '', /bad input/);
        assert.equal(rejected?.rejected, true);
      }));

    test('a handler that does not load: /healthz answers 500 and the gateway reads function_invalid', () =>
      withBootstrap(h.broken, {}, async (b) => {
        const health = await b.send('GET', ROUTE.health);
        assert.equal(health.status, 500);
        assert.throws(
          () => handlerLoaded(health.status, health.body),
          (e: unknown) =>
            e instanceof TitanError &&
            e.code === 'function_invalid' &&
            /handler failed to load/.test(e.message),
        );
      }));

    test('a stem cell: no function until /specialize, then it is one; a second /specialize is refused', async () => {
      const dir = await folder(h.ok);
      await withBootstrap(
        h.ok,
        { TITAN_STEM: '1', TITAN_HANDLER: '', TITAN_FUNCTION: '' },
        async (b) => {
          const health = await b.send('GET', ROUTE.health);
          assert.equal(handlerLoaded(health.status, health.body), true);
          assert.equal(JSON.parse(health.body).stem, true);
          const early = await b.invoke({});
          assert.equal(readInvokeReply(early.headers, early.body).outcome, 'error');
          assert.equal(readErrorBody(early.body)?.name, 'StemCellError');

          const env = { TITAN_FUNCTION: 'proto', TITAN_HANDLER: join(dir, h.file) };
          const done = await b.send('POST', ROUTE.specialize, { env, sourceMaps: false });
          assert.equal(handlerLoaded(done.status, done.body), true);
          const served = await b.invoke({ a: 2 });
          assert.deepEqual(JSON.parse(readInvokeReply(served.headers, served.body).body), {
            echo: { a: 2 },
            fn: 'proto',
          });

          const again = await b.send('POST', ROUTE.specialize, { env, sourceMaps: false });
          assert.equal(again.status, 409);
          assert.equal(handlerLoaded(again.status, again.body), false);
        },
      );
    });
  });
}

// python.py imports its sibling modules (titan_log_tags.py, titan_dial.py) from its own directory.
// Python leaves a script's directory off sys.path under PYTHONSAFEPATH, which a manifest's env may set.
describe('the python bootstrap under PYTHONSAFEPATH=1', () => {
  test('still finds its sibling modules, serves, and tags what the handler prints', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tp-'));
    dirs.push(dir);
    await writeFile(
      join(dir, 'handler.py'),
      'def handler(event, context):\n    print("hello")\n    return {"ok": True}\n',
    );
    const b = await Bootstrap.start(dir, 'python', {
      TITAN_FUNCTION: 'proto',
      TITAN_HANDLER: join(dir, 'handler.py'),
      PYTHONSAFEPATH: '1',
    });
    try {
      const health = await b.send('GET', ROUTE.health);
      assert.equal(handlerLoaded(health.status, health.body), true, b.output());
      const reply = await b.invoke({});
      assert.deepEqual(JSON.parse(readInvokeReply(reply.headers, reply.body).body), { ok: true });
      // The pipe delivers the output a moment after the reply.
      for (let i = 0; i < 100 && !b.output().includes('hello'); i++) await sleep(20);
      assert.ok(b.output().includes('\u001einv-1\u001fhello\n'), JSON.stringify(b.output()));
    } finally {
      await b.stop();
    }
  });
});
