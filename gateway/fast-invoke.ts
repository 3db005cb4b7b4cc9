// A node:http fast path for the hot routes, in front of Hono: `POST /functions/:name/invoke` and
// `/function/<name>/...` of a deployed function. It skips the Web Request/Response layer of
// @hono/node-server and calls the same code as Hono's routes (`invoke`, FunctionRoute); every request
// it does not take stays with Hono. The checks that refuse a caller (browser policy, pages, token,
// method) are the same functions Hono's routes call, and run before the body is read.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Deployment } from '../runtime/deployment.ts';
import { TitanError } from '../runtime/errors.ts';
import type { Registry } from '../runtime/registry.ts';
import type { TokenCheck } from './auth.ts';
import type { Answer } from './http-function/answer.ts';
import { needsNormalising, parseFunctionUrl } from './http-function/request.ts';
import { FunctionRoute, type FunctionCall } from './http-function/route.ts';
import { errorAnswer } from './http-errors.ts';
import type { Invoke } from './invoke.ts';
import type { BrowserPolicy } from './origin.ts';
import { mayInvoke, pageStarted } from './pages.ts';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface FastInvokeDeps {
  registry: Registry;
  invoke: Invoke;
  log: Logger;
  /** the same checks Hono's routes make: who may invoke (token), and Host/Origin */
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

type Target = { route: 'invoke'; dep: Deployment } | { route: 'function'; dep: Deployment };

/**
 * What a request may be served without Hono, or undefined when Hono must answer it: a deployed
 * function, a body of known length within the limit (a chunked body, or a 413, is Hono's `limit`),
 * and for `/function/...` a target Hono's URL parser would read the same (no dot segments) and no
 * CORS preflight (the browser policy on Hono's side answers those). The caller checks who may call.
 */
function fastTarget(
  req: IncomingMessage,
  registry: Registry,
  maxBodyBytes: number,
): Target | undefined {
  const length = req.headers['content-length'];
  if (
    req.headers['transfer-encoding'] !== undefined ||
    (length !== undefined && !(Number(length) <= maxBodyBytes))
  )
    return undefined;
  const url = req.url ?? '';
  if (req.method === 'POST') {
    const m = INVOKE_URL.exec(url);
    // No length (and not chunked) is an empty body for /function; the invoke route has always left it to Hono.
    if (m) return length === undefined ? undefined : wrap('invoke', registry.get(m[1]!));
  }
  if (
    !url.startsWith('/function/') ||
    (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined)
  )
    return undefined;
  const target = parseFunctionUrl(url);
  if (!target || target.name.includes('%') || needsNormalising(target.path)) return undefined;
  return wrap('function', registry.get(target.name));
}

const wrap = (route: Target['route'], dep: Deployment | undefined): Target | undefined =>
  dep ? { route, dep } : undefined;

/** Node joins repeated headers into one string, except a few; take the first of those. */
const one = (h: string | string[] | undefined): string | undefined => (Array.isArray(h) ? h[0] : h);

/** `extra` over `answer.headers`, except Vary, which both may set: its values are joined. */
function withExtra(
  headers: Record<string, string>,
  extra: Record<string, string> | undefined,
): Record<string, string> {
  if (!extra) return headers;
  const vary = headers.vary && extra.vary ? `${headers.vary}, ${extra.vary}` : undefined;
  return { ...headers, ...extra, ...(vary ? { vary } : {}) };
}

export function fastInvoke({
  registry,
  invoke,
  log,
  auth,
  browser,
  maxBodyBytes,
  fallback,
}: FastInvokeDeps): RequestListener {
  // The same implementation as Hono's `/function` route (app.ts builds its own from the same deps).
  const functions = new FunctionRoute({ registry, invoke, auth, log });
  /** Writes an answer; Node itself leaves out the body of a HEAD, 204 or 304 answer. */
  const write = (
    res: ServerResponse,
    { status, headers, body }: Answer,
    extra?: Record<string, string>,
  ) => {
    res.writeHead(status, withExtra(headers, extra)).end(body);
  };
  // Rare (any non-2xx answer of the invoke route, and every refusal): the same errorAnswer as
  // Hono's onError, so the status, body and headers cannot drift apart.
  // `extra`: CORS headers for an allowed cross origin, so its page can read the error too.
  const sendError = (
    req: IncomingMessage,
    res: ServerResponse,
    err: unknown,
    extra?: Record<string, string>,
  ) => {
    if (!(err instanceof TitanError)) log.error({ err, path: req.url }, 'unhandled error');
    const e = errorAnswer(err);
    write(
      res,
      { ...e, headers: { ...e.headers, 'content-length': String(Buffer.byteLength(e.body)) } },
      extra,
    );
  };

  const runInvoke = async (
    res: ServerResponse,
    req: IncomingMessage,
    name: string,
    body: Buffer,
    cors: Record<string, string> | undefined,
  ) => {
    try {
      const out = await invoke({ name, eventJson: utf8.decode(body), trigger: { kind: 'http' } });
      write(
        res,
        {
          status: 200,
          headers: {
            'content-type': 'application/json',
            'x-invocation-id': out.invocationId,
            'x-cold-start': String(out.cold),
            'content-length': String(Buffer.byteLength(out.resultJson)),
          },
          body: out.resultJson,
        },
        cors,
      );
    } catch (err) {
      sendError(req, res, err, cors);
    }
  };

  return (req, res) => {
    const target = fastTarget(req, registry, maxBodyBytes);
    if (target === undefined) return fallback(req, res);
    const header = (name: string) => one(req.headers[name]);
    let cors: Record<string, string> | undefined;
    let serve: (body: Buffer) => Promise<void>;
    try {
      const listed = browser.check({ method: req.method!, header });
      if (listed !== undefined) {
        // A preflight (an OPTIONS that asks Access-Control-Request-Method) is Hono's CORS to answer.
        if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined)
          return fallback(req, res);
        cors = browser.corsHeaders(listed);
      }
      const fromPage = pageStarted(header, listed);
      if (target.route === 'invoke') {
        mayInvoke(auth, target.dep.spec, req.headers.authorization, fromPage);
        const name = target.dep.spec.name;
        serve = (body) => runInvoke(res, req, name, body, cors);
      } else {
        const call: FunctionCall = {
          method: req.method!,
          url: req.url!,
          header,
          headerLines: () => req.rawHeaders,
          fromPage,
        };
        const admitted = functions.admit(call);
        serve = async (body) => {
          const answer = await functions.serve(admitted, call, body);
          try {
            write(res, answer, cors);
          } catch (err) {
            // answer.ts lets nothing through that Node refuses; should it ever, the client still gets an answer.
            sendError(
              req,
              res,
              new TitanError(
                'invalid_response',
                `the function's answer could not be written: ${(err as Error).message}`,
              ),
              cors,
            );
          }
        };
      }
    } catch (err) {
      // Refused before a byte of the body is read. With a body on its way, `connection: close`, or Node
      // would read it (up to max_body_bytes) only to discard it before the connection could be used again.
      const bodyComing = Number(req.headers['content-length'] ?? 0) > 0;
      try {
        sendError(req, res, err, bodyComing ? { ...cors, connection: 'close' } : cors);
      } catch {
        res.destroy();
      }
      return;
    }
    // Node's parser holds the body to its declared length, which is within the limit.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      serve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).catch((err: unknown) => {
        log.error({ err, path: req.url }, 'unhandled error');
        res.destroy();
      });
    });
    // A client gone mid-body: nothing to invoke and no one to answer.
    req.on('error', () => res.destroy());
  };
}
