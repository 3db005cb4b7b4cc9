// Bearer-token checks for management routes and for functions with `auth: token`. Tokens are
// compared in constant time (over their hashes, so lengths leak nothing) and never logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { TitanError } from '../runtime/errors.ts';

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
    if (!this.expected) throw new TitanError('unauthorized', `${what} requires a token, but the gateway has no TITAN_ADMIN_TOKEN`);
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    if (!m) throw new TitanError('unauthorized', `${what} requires Authorization: Bearer <token>`);
    if (!timingSafeEqual(digest(m[1]!.trim()), this.expected)) throw new TitanError('unauthorized', 'invalid token');
  }

  /** Middleware for management routes: open when no token is configured (loopback only, see listen). */
  admin(): MiddlewareHandler {
    return async (c, next) => {
      if (this.expected) this.require(c.req.header('authorization'), 'this management route');
      await next();
    };
  }
}

export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);
