// A node:http fast path for the hot route, `POST /functions/:name/invoke`, in front of Hono. It skips
// the Web Request/Response layer of @hono/node-server and calls the same `invoke`; every request it
// does not take stays with Hono's route. The checks that refuse a caller (browser policy, token) are
// the same functions Hono's route calls, and run before the body is read.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Context } from 'hono';
import type { Logger } from 'pino';
import type { Deployment } from '../runtime/deployment.ts';
import { TitanError } from '../runtime/errors.ts';
import type { Registry } from '../runtime/registry.ts';
import type { TokenCheck } from './auth.ts';
import { errorResponse } from './http-errors.ts';
import type { Invoke } from './invoke.ts';
import type { BrowserPolicy } from './origin.ts';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface FastInvokeDeps {
  registry: Registry;
  invoke: Invoke;
  log: Logger;
  /** the same checks Hono's route makes: who may invoke (token), and Host/Origin */
  auth: TokenCheck;
  browser: BrowserPolicy;
  maxBodyBytes: number;
  /** Hono's listener: every request the fast path does not take */
  fallback: RequestListener;
}

// Exactly what Hono's route matches, without a query string (`?async=true` and the like go to Hono).
const INVOKE_URL = /^\/functions\/([^/?#%]+)\/invoke$/;
// What `c.req.text()` does: UTF-8, a leading BOM dropped, bad bytes replaced.
const utf8 = new TextDecoder();

/**
 * The function a request may invoke without Hono, or undefined when Hono must answer it: the
 * function is deployed, and the body's declared length is within the limit (a missing or chunked
 * length, or a 413, is Hono's `limit`). The caller checks who may invoke it.
 */
function fastTarget(req: IncomingMessage, registry: Registry, maxBodyBytes: number): Deployment | undefined {
  if (req.method !== 'POST') return undefined;
  const m = INVOKE_URL.exec(req.url ?? '');
  if (!m) return undefined;
  const length = req.headers['content-length'];
  if (length === undefined || req.headers['transfer-encoding'] !== undefined || !(Number(length) <= maxBodyBytes)) return undefined;
  return registry.get(m[1]!);
}

/** Node joins repeated headers into one string, except a few; take the first of those. */
const one = (h: string | string[] | undefined): string | undefined => (Array.isArray(h) ? h[0] : h);

export function fastInvoke({ registry, invoke, log, auth, browser, maxBodyBytes, fallback }: FastInvokeDeps): RequestListener {
  // Rare (any non-2xx answer): built by the same errorResponse as Hono's onError, so the status,
  // body and headers cannot drift apart.
  // `extra`: CORS headers for an allowed cross origin, so its page can read the error too.
  const sendError = async (req: IncomingMessage, res: ServerResponse, err: unknown, extra?: Record<string, string>) => {
    const path = req.url ?? '';
    if (!(err instanceof TitanError)) log.error({ err, path }, 'unhandled error');
    const answer = errorResponse(new Context(new Request(`http://localhost${path}`, { method: 'POST' })), err);
    const body = await answer.text();
    res.writeHead(answer.status, { ...Object.fromEntries(answer.headers), ...extra, 'content-length': Buffer.byteLength(body) }).end(body);
  };

  const run = async (req: IncomingMessage, res: ServerResponse, name: string, body: Buffer, cors: Record<string, string> | undefined) => {
    try {
      const out = await invoke({ name, eventJson: utf8.decode(body), trigger: { kind: 'http' } });
      res.writeHead(200, {
        ...cors,
        'content-type': 'application/json',
        'x-invocation-id': out.invocationId,
        'x-cold-start': String(out.cold),
        'content-length': Buffer.byteLength(out.resultJson),
      }).end(out.resultJson);
    } catch (err) {
      await sendError(req, res, err, cors);
    }
  };

  return (req, res) => {
    const dep = fastTarget(req, registry, maxBodyBytes);
    if (dep === undefined) return fallback(req, res);
    const name = dep.spec.name;
    let cors: Record<string, string> | undefined;
    try {
      const origin = browser.check({ method: 'POST', header: (name) => one(req.headers[name]) });
      if (origin !== undefined) cors = browser.corsHeaders(origin);
      auth.mayInvoke(dep.spec, req.headers.authorization);
    } catch (err) {
      // Refused before a byte of the body is read. `connection: close`, or Node would read the body
      // (up to max_body_bytes) only to discard it before the connection could be used again.
      sendError(req, res, err, { ...cors, connection: 'close' }).catch(() => res.destroy());
      return;
    }
    // Node's parser holds the body to its declared length, which is within the limit.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void run(req, res, name, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), cors).catch((err: unknown) => {
        log.error({ err, path: req.url }, 'unhandled error');
        res.destroy();
      });
    });
    // A client gone mid-body: nothing to invoke and no one to answer.
    req.on('error', () => res.destroy());
  };
}
