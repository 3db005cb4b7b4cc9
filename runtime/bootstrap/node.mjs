// In-container bootstrap for `runtime: node`: loads the handler once, then dials the gateway's unix
// socket and serves invocations over HTTP/1.1 on the connections it dialed. The protocol is defined in
// runtime/protocol.ts (test/unit/protocol.test.ts holds this file to it). Mounted read-only into
// every function container; it must depend on nothing but Node's standard library.
import { createServer, request } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { runTagged, tagWrites } from './log-tags.mjs';

const socketPath = process.env.TITAN_SOCKET;
// A stem cell (TITAN_STEM=1) starts with no function: the gateway's specialize request brings its
// environment, and the handler is loaded then, once. Anything else loads it now.
const stem = process.env.TITAN_STEM === '1';
let functionName = process.env.TITAN_FUNCTION;
// 'stem': waiting for a function; 'loading': a specialize request is being served; 'function': it has one.
let state = stem ? 'stem' : 'function';

/** Frozen all the way down: one invocation must not change what the next one sees. */
const deepFreeze = (x) => {
  if (x && typeof x === 'object') for (const v of Object.values(Object.freeze(x))) deepFreeze(v);
  return x;
};
// The manifest's `config:`, checked by the gateway to be a JSON object.
let functionConfig = deepFreeze(JSON.parse(process.env.TITAN_FUNCTION_CONFIG || '{}'));

// Before the handler loads, so everything it writes goes through the tagging (see log-tags.mjs).
tagWrites(process.stdout);
tagWrites(process.stderr);

let handler;
let loadError;
async function loadHandler(handlerPath) {
  try {
    const mod = await import(pathToFileURL(handlerPath).href);
    // ESM default export, ESM named `handler`, CommonJS `module.exports = fn` (arrives as default)
    // or CommonJS `exports.handler` (arrives as default.handler).
    const candidates = [mod.default, mod.handler, mod.default?.handler];
    handler = candidates.find((c) => typeof c === 'function');
    if (!handler)
      loadError = new Error(
        `${handlerPath.replace(/^\/fn(-build)?\//, '')} exports no function: expected a default export or an export named 'handler'`,
      );
  } catch (err) {
    loadError = err;
  }
}
if (!stem) await loadHandler(process.env.TITAN_HANDLER);

/**
 * Become the function the body names: `env` is the whole environment its own container would have
 * been given (the image's variables stay), so process.env ends up as it would be there. Only once:
 * a second request, even one the function forges from inside, is refused.
 */
async function specialize(body) {
  const { env, sourceMaps } = JSON.parse(body);
  delete process.env.TITAN_STEM;
  Object.assign(process.env, env);
  functionName = env.TITAN_FUNCTION;
  functionConfig = deepFreeze(JSON.parse(env.TITAN_FUNCTION_CONFIG || '{}'));
  // What NODE_OPTIONS=--enable-source-maps does at start, for modules loaded from now on.
  if (sourceMaps) process.setSourceMapsEnabled(true);
  await loadHandler(env.TITAN_HANDLER);
}

// A stray rejection in one invocation must not kill the others sharing this container.
process.on('unhandledRejection', (err) => console.error('unhandled rejection:', err));

// An error whose `status` (or `statusCode`, as http-errors sets it) is 400-499 says the input was
// bad: the gateway answers 400 function_rejected and an event is not retried.
const isRejection = (err) => {
  const status = err?.status ?? err?.statusCode;
  return Number.isInteger(status) && status >= 400 && status <= 499;
};
const describe = (err) => ({
  name: err?.name ?? 'Error',
  message: err?.message ?? String(err),
  stack: typeof err?.stack === 'string' ? err.stack.split('\n').slice(0, 12).join('\n') : undefined,
  ...(isRejection(err) ? { rejected: true } : {}),
});

const send = (res, outcome, body, extraHeaders = {}) => {
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-titan-outcome': outcome,
    ...extraHeaders,
  });
  res.end(body);
};

async function invoke(req, res) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  let payload;
  try {
    payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    return send(
      res,
      'error',
      JSON.stringify({ name: 'ProtocolError', message: `bad invocation body: ${err.message}` }),
    );
  }
  const emits = [];
  const context = {
    ...payload.context,
    functionName,
    config: functionConfig,
    emit(topic, type, data) {
      if (typeof topic !== 'string' || !topic || typeof type !== 'string' || !type) {
        throw new TypeError(
          'context.emit(topic, type, data): topic and type must be non-empty strings',
        );
      }
      emits.push({ topic, type, data: data === undefined ? null : data });
    },
  };
  let result;
  try {
    result = await runTagged(payload.context?.invocationId, handler, payload.event, context);
  } catch (err) {
    return send(res, 'error', JSON.stringify(describe(err)));
  }
  let body;
  try {
    body = emits.length
      ? JSON.stringify({ result: result ?? null, emits })
      : JSON.stringify(result ?? null);
  } catch (err) {
    return send(
      res,
      'error',
      JSON.stringify({
        name: 'TypeError',
        message: `result is not JSON-serialisable: ${err.message}`,
      }),
    );
  }
  send(res, 'ok', body, emits.length ? { 'x-titan-envelope': '1' } : {});
}

const health = (res) => {
  const body = JSON.stringify(
    loadError
      ? { ok: false, error: describe(loadError) }
      : state === 'stem'
        ? { ok: true, stem: true }
        : { ok: true },
  );
  res.writeHead(loadError ? 500 : 200, { 'content-type': 'application/json' }).end(body);
};
const STEM_ERROR = JSON.stringify({
  name: 'StemCellError',
  message:
    'this container is a stem cell with no function loaded: it serves invocations only once the gateway specialized it',
});

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/invoke') {
    if (state !== 'function') return send(res, 'error', STEM_ERROR);
    if (loadError) return send(res, 'error', JSON.stringify(describe(loadError)));
    invoke(req, res).catch((err) => send(res, 'error', JSON.stringify(describe(err))));
  } else if (req.method === 'POST' && req.url === '/specialize') {
    if (state !== 'stem') {
      const why = stem ? `already specialized as '${functionName}'` : 'not a stem cell';
      return res.writeHead(409, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          ok: false,
          error: { name: 'StemCellError', message: `refused: ${why}` },
        }),
      );
    }
    state = 'loading';
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      specialize(Buffer.concat(chunks).toString('utf8'))
        .catch((err) => (loadError = err))
        .then(() => {
          state = 'function';
          health(res);
        });
    });
  } else if (req.url === '/healthz') {
    health(res);
  } else {
    res.writeHead(404).end();
  }
});
// The gateway owns connection lifetime and deadlines: never close a connection under it.
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;

// The socket is the gateway's, in a directory this container sees read-only. Keep one connection
// dialed that the gateway has not used yet, so a call never waits for a dial.
const MAX_CONNECTIONS = 1024;
const live = new Set();
// Connections dialed that have not carried a request yet: the gateway's spare. A connection parked in
// the gateway's free list is not one (it is idle here, but the gateway's waiting calls cannot get it),
// so the demand signal is the gateway taking the spare: its first request.
let fresh = 0;
let dialing = false;
let failures = 0;

function dial() {
  if (dialing || fresh > 0 || live.size >= MAX_CONNECTIONS) return;
  dialing = true;
  const sock = connect(socketPath);
  let failure;
  sock.on('error', (err) => (failure = err)); // 'close' follows and decides
  sock.once('connect', () => {
    dialing = false;
    failures = 0;
    sock.fresh = true;
    live.add(sock);
    fresh++;
    server.emit('connection', sock);
  });
  sock.once('close', () => {
    if (live.delete(sock)) {
      if (sock.fresh) fresh--;
      return dial();
    }
    // The dial failed. The gateway listens before the container starts: if it stays away, it let go of us.
    dialing = false;
    if (++failures > 50) {
      console.error(
        `titan bootstrap: cannot reach the gateway at ${socketPath}: ${failure?.message}`,
      );
      process.exit(1);
    }
    setTimeout(dial, Math.min(10 * failures, 200));
  });
}

server.on('request', (req) => {
  const sock = req.socket;
  if (sock.fresh) {
    sock.fresh = false;
    fresh--;
    dial();
  }
});

// A stem cell has time to spare before its first call: it runs one invocation of a no-op through the
// whole path (the HTTP parser, the invocation and log-tagging code, the answer) on a private
// connection, so the first call of the function it becomes does not pay for compiling them (measured:
// that call took 8-15 ms without it, 3 ms with it). Before dialing: no request of the gateway's can
// arrive meanwhile and find it in this borrowed state.
async function warmUp() {
  const path = `\0titan-warm-${process.pid}`; // abstract: no file, and private to this network namespace
  const local = createNetServer((sock) => server.emit('connection', sock));
  await new Promise((resolve) => local.listen(path, resolve));
  handler = async () => null;
  state = 'function';
  try {
    await new Promise((resolve) => {
      const req = request(
        { socketPath: path, method: 'POST', path: '/invoke', agent: false },
        (res) => res.resume().on('end', resolve),
      );
      req.on('error', resolve);
      req.end('{"event":{},"context":{"invocationId":"warm-up"}}');
    });
  } finally {
    handler = undefined;
    state = 'stem';
    local.close();
  }
}
if (stem) await warmUp();

dial();
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
