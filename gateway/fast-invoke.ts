// A node:http fast path for the hot route, `POST /functions/:name/invoke`, in front of Hono. It skips
// the Web Request/Response layer of @hono/node-server and calls the same `invoke`; every request it
// does not take, and every check that can refuse a call before `invoke`, stays with Hono's route.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Context } from 'hono';
import type { Logger } from 'pino';
import { TitanError } from '../runtime/errors.ts';
import type { Registry } from '../runtime/registry.ts';
import type { TokenCheck } from './auth.ts';
import { errorResponse } from './http-errors.ts';
import type { Invoke } from './invoke.ts';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface FastInvokeDeps {
  registry: Registry;
  invoke: Invoke;
  log: Logger;
  /** the same check Hono's route makes for `auth: token` functions */
  auth: TokenCheck;
  maxBodyBytes: number;
  /** Hono's listener: every request the fast path does not take */
  fallback: RequestListener;
}

// Exactly what Hono's route matches, without a query string (`?async=true` and the like go to Hono).
const INVOKE_URL = /^\/functions\/([^/?#%]+)\/invoke$/;
// What `c.req.text()` does: UTF-8, a leading BOM dropped, bad bytes replaced.
const utf8 = new TextDecoder();

/**
 * The name of the function a request may invoke without Hono, or undefined when Hono must answer it:
 * the function is deployed, and the body's declared length is within the limit (a missing or chunked
 * length, or a 413, is Hono's `limit`). The caller checks the token of an `auth: token` function.
 */
function fastName(req: IncomingMessage, registry: Registry, maxBodyBytes: number): string | undefined {
  if (req.method !== 'POST') return undefined;
  const m = INVOKE_URL.exec(req.url ?? '');
  if (!m) return undefined;
  const length = req.headers['content-length'];
  if (length === undefined || req.headers['transfer-encoding'] !== undefined || !(Number(length) <= maxBodyBytes)) return undefined;
  const name = m[1]!;
  return registry.get(name) ? name : undefined;
}

export function fastInvoke({ registry, invoke, log, auth, maxBodyBytes, fallback }: FastInvokeDeps): RequestListener {
  // Rare (any non-2xx answer): built by the same errorResponse as Hono's onError, so the status,
  // body and headers cannot drift apart.
  const sendError = async (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    const path = req.url ?? '';
    if (!(err instanceof TitanError)) log.error({ err, path }, 'unhandled error');
    const answer = errorResponse(new Context(new Request(`http://localhost${path}`, { method: 'POST' })), err);
    const body = await answer.text();
    res.writeHead(answer.status, { ...Object.fromEntries(answer.headers), 'content-length': Buffer.byteLength(body) }).end(body);
  };

  const run = async (req: IncomingMessage, res: ServerResponse, name: string, body: Buffer) => {
    try {
      if (registry.get(name)?.spec.auth === 'token') auth.require(req.headers.authorization, `function '${name}'`);
      const out = await invoke({ name, eventJson: utf8.decode(body), trigger: { kind: 'http' } });
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-invocation-id': out.invocationId,
        'x-cold-start': String(out.cold),
        'content-length': Buffer.byteLength(out.resultJson),
      }).end(out.resultJson);
    } catch (err) {
      await sendError(req, res, err);
    }
  };

  return (req, res) => {
    const name = fastName(req, registry, maxBodyBytes);
    if (name === undefined) return fallback(req, res);
    // Node's parser holds the body to its declared length, which is within the limit.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void run(req, res, name, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).catch((err: unknown) => {
        log.error({ err, path: req.url }, 'unhandled error');
        res.destroy();
      });
    });
    // A client gone mid-body: nothing to invoke and no one to answer.
    req.on('error', () => res.destroy());
  };
}
