// The gateway↔container protocol, defined once. The bootstraps (runtime/bootstrap/node.mjs and
// python.py) serve it; container.ts and deployment.ts speak it. The bootstraps run in the container
// with nothing but their language's standard library, so they cannot import this file: they spell
// the same names, and test/unit/protocol.test.ts runs both of them against what is here.
//
// Transport. The gateway listens on `<socket dir>/fn.sock`; the container sees that directory
// read-only at /run/titan (env TITAN_SOCKET) and dials in. HTTP/1.1 requests go from the gateway to
// the bootstrap over the connections the container dialed (runtime/dial-in.ts); the bootstrap keeps
// one connection dialed that has not carried a request yet, and dials another when the gateway
// starts using it. Connection lifetime and deadlines belong to the gateway.
//
// Routes (bodies are JSON):
//   GET  /healthz     200 {ok: true} the handler loaded, or {ok: true, stem: true} a stem cell
//                     waiting for a function; 500 {ok: false, error: ErrorBody} it failed to load.
//   POST /invoke      body {event, context}; always answered 200. `x-titan-outcome: ok`: the body is
//                     the handler's result, or, when it emitted events, `x-titan-envelope: 1` and
//                     {result, emits: Emit[]}. `x-titan-outcome: error`: the body is an ErrorBody.
//   POST /specialize  stem cells only: body {env, sourceMaps}; answered as /healthz once the handler
//                     loaded (or failed to); 409 when not a stem cell or specialized already.
import { TitanError } from './errors.ts';

export const CONTAINER_SOCKET_DIR = '/run/titan';
export const SOCKET_FILE = 'fn.sock';
export const CONTAINER_SOCKET = `${CONTAINER_SOCKET_DIR}/${SOCKET_FILE}`;

export const ROUTE = { health: '/healthz', invoke: '/invoke', specialize: '/specialize' } as const;
export const HEADER = { outcome: 'x-titan-outcome', envelope: 'x-titan-envelope' } as const;

/** What a handler's error looks like on the wire. */
export interface ErrorBody {
  name: string;
  message: string;
  stack?: string;
  /** the handler said the input was bad (a `status` of 400-499): answered 400, never retried */
  rejected?: boolean;
}

/** An event a handler emitted with `context.emit(topic, type, data)`. */
export interface Emit {
  topic: string;
  type: string;
  data: unknown;
}

/** The answer to POST /invoke, as the gateway reads it. */
export interface InvokeReply {
  outcome: 'ok' | 'error';
  /** body carries `{ result, emits }` rather than the bare result */
  envelope: boolean;
  body: string;
}

export function readInvokeReply(
  headers: Record<string, string | string[] | undefined>,
  body: string,
): InvokeReply {
  return {
    outcome: headers[HEADER.outcome] === 'ok' ? 'ok' : 'error',
    envelope: headers[HEADER.envelope] === '1',
    body,
  };
}

/** An `error` outcome's body; the container may send anything, so every field is checked. */
export function readErrorBody(body: string): Partial<ErrorBody> | undefined {
  const e = safeJson(body);
  if (!e || typeof e !== 'object') return undefined;
  const { name, message, rejected } = e as Record<string, unknown>;
  return {
    name: typeof name === 'string' ? name : undefined,
    message: typeof message === 'string' ? message : undefined,
    rejected: rejected === true,
  };
}

/** `{ result, emits }` from the container, which may say anything: a bad one is invalid_response. */
export function openEnvelope(body: string, fnName: string): { resultJson: string; emits: Emit[] } {
  const bad = (why: string) =>
    new TitanError(
      'invalid_response',
      `function '${fnName}' answered a malformed envelope: ${why}`,
    );
  let env: { result?: unknown; emits?: unknown };
  try {
    env = JSON.parse(body) as typeof env;
    // JSON.stringify recurses: a result nested past the stack's depth throws RangeError here.
    const resultJson = JSON.stringify(env?.result ?? null);
    if (!Array.isArray(env?.emits)) throw bad('emits is not an array');
    return { resultJson, emits: env.emits as Emit[] };
  } catch (err) {
    throw err instanceof TitanError ? err : bad((err as Error).message);
  }
}

/**
 * Whether an answer to /healthz or /specialize says the handler loaded: true for 200; a 500 throws
 * function_invalid with the bootstrap's message; anything else is returned as false (the caller
 * says what it was).
 */
export function handlerLoaded(status: number, body: string): boolean {
  if (status === 200) return true;
  if (status === 500) {
    const said = safeJson(body) as { error?: { message?: unknown } } | undefined;
    throw new TitanError(
      'function_invalid',
      `handler failed to load: ${String(said?.error?.message ?? body.slice(0, 500))}`,
    );
  }
  return false;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
