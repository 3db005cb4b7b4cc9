// Bearer-token checks for management routes and for invoking functions (`mayInvoke`, the one
// decision both request paths ask). Tokens are compared in constant time (over their hashes, so
// lengths leak nothing) and never logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { TitanError } from '../runtime/errors.ts';
import type { FunctionSpec } from '../runtime/spec.ts';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class TokenCheck {
  private readonly expected?: Buffer;

  constructor(token: string | undefined) {
    this.expected = token ? digest(token) : undefined;
  }

  get configured(): boolean {
    return this.expected !== undefined;
  }

  /**
   * Throws `unauthorized` unless `authorization` (the request's header) carries the token. `what` says
   * what is protected. A header value, not a framework context: the invoke fast path checks it too.
   */
  require(authorization: string | undefined, what: string): void {
    if (!this.expected)
      throw new TitanError(
        'unauthorized',
        `${what} requires a token, but the gateway has no TITAN_ADMIN_TOKEN`,
      );
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    if (!m) throw new TitanError('unauthorized', `${what} requires Authorization: Bearer <token>`);
    if (!timingSafeEqual(digest(m[1]!.trim()), this.expected))
      throw new TitanError('unauthorized', 'invalid token');
  }

  /**
   * Whether this caller (its Authorization header) may invoke `spec`; throws `unauthorized` if not.
   * Every route that invokes asks it before reading the body: sync and async on Hono, the fast path.
   * - `auth: token`: the token, always.
   * - a function that mounts host paths (permissions.fs: shell_runner, file_watcher): the token as
   *   soon as one is configured, whatever its manifest says. The host's files are the admin's to
   *   give, and a manifest is the function author's; so the mechanism decides, not the name.
   *   Without a token the gateway listens on loopback only and the browser policy (origin.ts) keeps
   *   web pages out, so `npm start` and a curl on the same machine can still call it.
   * - anything else: open.
   */
  mayInvoke(
    spec: Pick<FunctionSpec, 'name' | 'auth' | 'fs'>,
    authorization: string | undefined,
  ): void {
    if (spec.auth === 'token') this.require(authorization, `function '${spec.name}'`);
    else if (this.expected && spec.fs.mounts.length > 0)
      this.require(
        authorization,
        `function '${spec.name}' mounts host paths (permissions.fs), so it`,
      );
  }

  /** Whether `authorization` carries the token (false when none is configured); never throws. */
  holds(authorization: string | undefined): boolean {
    if (!this.expected) return false;
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    return m !== null && timingSafeEqual(digest(m[1]!.trim()), this.expected);
  }

  /** Middleware for management routes: open when no token is configured (loopback only, see listen). */
  admin(): MiddlewareHandler {
    return async (c, next) => {
      if (this.expected) this.require(c.req.header('authorization'), 'this management route');
      await next();
    };
  }
}

export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127\./.test(host);
