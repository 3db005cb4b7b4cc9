// `/function/<name>/<path>`: any method, path, query, headers and body in; status, headers and body
// out. One implementation for both request paths (gateway/fast-invoke.ts over node:http, and Hono's
// route in app.ts): each hands it the raw request and writes what it answers. It checks the caller
// before the body is read (`admit`), then runs the one invoke path and reads the answer (`serve`).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Deployment } from '../../runtime/deployment.ts';
import { MethodNotAllowedError, TitanError } from '../../runtime/errors.ts';
import type { Registry } from '../../runtime/registry.ts';
import { HTTP_METHODS, type HttpMethod } from '../../runtime/spec.ts';
import type { TokenCheck } from '../auth.ts';
import { errorAnswer } from '../http-errors.ts';
import { resolveFunction, type Invoke } from '../invoke.ts';
import { mayInvoke } from '../pages.ts';
import { readAnswer, type Answer } from './answer.ts';
import { eventJson, needsNormalising, parseFunctionUrl, type FunctionTarget } from './request.ts';

/** A request to `/function/...` as both request paths see it, before its body is read. */
export interface FunctionCall {
  method: string;
  /** the request target as sent: path and query */
  url: string;
  header: (name: string) => string | undefined;
  /** every header line as sent, for the event: name, value, name, value... (Node's rawHeaders) */
  headerLines: () => readonly string[];
  /** a web page started it (gateway/pages.ts) */
  fromPage: boolean;
}

/** A call that may go ahead: whose function, which method and target. */
export interface Admitted {
  dep: Deployment;
  method: HttpMethod;
  target: FunctionTarget;
}

export interface FunctionRouteDeps {
  registry: Registry;
  invoke: Invoke;
  auth: TokenCheck;
  log: Logger;
}

const isHttpMethod = (m: string): m is HttpMethod =>
  (HTTP_METHODS as readonly string[]).includes(m);

export class FunctionRoute {
  private readonly isAdminToken: (authorization: string) => boolean;

  constructor(private readonly deps: FunctionRouteDeps) {
    const { auth } = deps;
    // TokenCheck answers by throwing; this asks it without a caller in mind (no token: never).
    this.isAdminToken = (authorization) => {
      if (!auth.configured) return false;
      try {
        auth.require(authorization, 'this');
        return true;
      } catch {
        return false;
      }
    };
  }

  /**
   * Before the body: the function (404, 400 invalid_name, 409), the target (400 for dot segments),
   * the method (405 with Allow), the caller (403 for pages, 401 for tokens). Throws the refusal.
   */
  admit(call: FunctionCall): Admitted {
    const target = parseFunctionUrl(call.url);
    if (!target)
      throw new TitanError('not_found', `no route ${call.method} ${call.url.split('?')[0]}`);
    const dep = resolveFunction(this.deps.registry, target.name);
    if (needsNormalising(target.path)) {
      throw new TitanError(
        'invalid_request',
        `the path ${JSON.stringify(target.path)} has a '.' or '..' segment or a backslash; send it resolved`,
      );
    }
    const allow = dep.spec.http?.methods ?? HTTP_METHODS;
    if (!isHttpMethod(call.method) || !allow.includes(call.method))
      throw new MethodNotAllowedError(target.name, call.method, allow);
    mayInvoke(this.deps.auth, dep.spec, call.header('authorization'), call.fromPage);
    return { dep, method: call.method, target };
  }

  /** After the body: the invocation and its answer, or the error as an answer. Never throws. */
  async serve(
    { dep, method, target }: Admitted,
    call: FunctionCall,
    body: Uint8Array,
  ): Promise<Answer> {
    const name = dep.spec.name;
    // Chosen here rather than by invoke, so an error answer names the invocation too (its logs).
    const invocationId = randomUUID();
    const read: { answer?: Answer } = {};
    try {
      const out = await this.deps.invoke({
        name,
        invocationId,
        eventJson: eventJson({
          method,
          target,
          headers: call.headerLines(),
          body,
          rules: { isAdminToken: this.isAdminToken },
        }),
        eventIsGatewayJson: true,
        trigger: { kind: 'http', route: 'function', method, path: target.path },
        // Read inside the invocation: a malformed answer is its outcome (metrics, log line), and
        // what it emitted is not published.
        readAnswer: (resultJson) => {
          read.answer = readAnswer(resultJson, name);
          return read.answer.status;
        },
      });
      const answer = read.answer!;
      answer.headers['x-invocation-id'] = invocationId;
      answer.headers['x-cold-start'] = String(out.cold);
      return answer;
    } catch (err) {
      if (!(err instanceof TitanError))
        this.deps.log.error({ err, fn: name, invocationId }, 'unhandled error');
      const e = errorAnswer(err);
      return {
        status: e.status,
        headers: {
          ...e.headers,
          'content-length': String(Buffer.byteLength(e.body)),
          'x-invocation-id': invocationId,
        },
        body: e.body,
      };
    }
  }
}
