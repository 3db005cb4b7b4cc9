// Who may reach the gateway from a browser. Every request, on both request paths (Hono's and the
// invoke fast path), passes `BrowserPolicy.check` before anything else runs or any body is read:
// - a Host that is not one of the gateway's names is DNS rebinding (a page on evil.example whose name
//   now resolves to 127.0.0.1): 403 forbidden_host;
// - an Origin that is neither the gateway's own nor listed in gateway.cors.allow_origins is a page of
//   another site: 403 forbidden_origin. A text/plain POST or a form needs no preflight, so the
//   browser sends it anyway; only the server can refuse it.
// Requests without Origin (curl, the CLI, other servers) are not browsers' and pass. Listed origins
// get CORS headers (hono/cors on Hono's side, `corsHeaders` on the fast path).
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { TitanError } from '../runtime/errors.ts';

/** Response headers a page may read: the invocation's id, and what it needs to retry or authenticate. */
export const EXPOSE_HEADERS = [
  'x-invocation-id',
  'x-cold-start',
  'location',
  'retry-after',
  'www-authenticate',
];
export const ALLOW_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const BASE_ALLOW_HEADERS = ['content-type', 'authorization'];

export interface BrowserPolicyOptions {
  /** the listen address: beyond loopback, Hosts that are IP addresses are accepted too */
  loopbackOnly: boolean;
  /** gateway.allowed_hosts */
  allowedHosts: readonly string[];
  /** gateway.cors */
  cors: { allowOrigins: readonly string[]; allowHeaders: readonly string[]; maxAgeSec: number };
}

/** A request as the policy reads it: its method and a header by lower-case name (undefined: not sent). */
export interface RequestMarks {
  method: string;
  header: (name: string) => string | undefined;
}

// What a Host header may look like; anything else (userinfo, paths, spaces) is refused before
// the URL parser could read it as something else (`evil@127.0.0.1`).
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Host (or an allowed_hosts entry) → the canonical host name: lower case, IPv4 in dotted form, no port or final dot. */
function hostnameOf(host: string): string | undefined {
  if (!HOST_HEADER.test(host)) return undefined;
  try {
    return new URL(`http://${host}`).hostname.replace(/\.$/, '');
  } catch {
    return undefined;
  }
}

// `*.localhost` too: browsers resolve it to loopback themselves (RFC 6761), so no one can rebind it.
const isLoopbackName = (h: string): boolean =>
  h === 'localhost' || h.endsWith('.localhost') || /^127\./.test(h) || h === '[::1]';
const isAddress = (h: string): boolean => IPV4.test(h) || h.startsWith('[');
/** A header value quoted for a message, cut short: the message must not echo a 16 KiB header. */
const quote = (s: string): string => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);

/** A top-level GET navigation: a followed link or a typed URL, not a frame, an image or a script. */
const isUserNavigation = (method: string, header: RequestMarks['header']): boolean =>
  (method === 'GET' || method === 'HEAD') &&
  header('sec-fetch-mode') === 'navigate' &&
  header('sec-fetch-dest') === 'document';

/** Whether `origin` is the origin of a page served by this gateway under `host`. */
function isSameOrigin(origin: string, host: string): boolean {
  try {
    const o = new URL(origin);
    if (o.protocol !== 'http:' && o.protocol !== 'https:') return false;
    // https too: behind a TLS proxy that keeps the Host, the page's origin is https://<Host>.
    return o.origin === new URL(`${o.protocol}//${host}`).origin;
  } catch {
    return false;
  }
}

export class BrowserPolicy {
  private readonly names = new Set<string>();
  /** `.example.com` for each `*.example.com` */
  private readonly suffixes: string[] = [];
  private readonly origins: Set<string>;
  /**
   * Host headers already accepted, as sent: the hot path skips the URL parser (about 1.3 µs a call).
   * Bounded, as loopback alone has 2^24 addresses times 65536 ports to spell.
   */
  private readonly knownHosts = new Set<string>();
  private readonly exposeHeaders = EXPOSE_HEADERS.join(',');

  constructor(private readonly opts: BrowserPolicyOptions) {
    for (const entry of opts.allowedHosts) {
      const wildcard = entry.startsWith('*.');
      const name = hostnameOf(wildcard ? entry.slice(2) : entry);
      // The config schema has validated the entries; one it let through but URL cannot read is skipped.
      if (name === undefined) continue;
      if (wildcard) this.suffixes.push(`.${name}`);
      else this.names.add(name);
    }
    this.origins = new Set(opts.cors.allowOrigins);
  }

  /**
   * Throws forbidden_host or forbidden_origin for a request a browser made on another site's
   * behalf; returns the Origin when it is an allowed cross origin (its answer gets CORS headers).
   */
  check({ method, header }: RequestMarks): string | undefined {
    const host = header('host');
    if (host !== undefined) this.checkHost(host);
    const origin = header('origin');
    if (origin === undefined) {
      // Browsers send Origin with every request but GET and HEAD; Sec-Fetch-Site still says where a
      // GET (an <img>, a <script>, a fetch) came from. Only a browser sends it. A link the user
      // followed is let through: its answer is shown to the user, never to the page that linked
      // here, and no GET route changes anything (the README links to /openapi.json).
      const site = header('sec-fetch-site');
      if ((site === 'cross-site' || site === 'same-site') && !isUserNavigation(method, header)) {
        throw new TitanError(
          'forbidden_origin',
          `a browser request from another site (Sec-Fetch-Site: ${site}) is refused; open the gateway's URL directly`,
        );
      }
      return undefined;
    }
    if (this.origins.has(origin)) return origin;
    if (host !== undefined && isSameOrigin(origin, host)) return undefined;
    if (origin === 'null')
      throw new TitanError(
        'forbidden_origin',
        'Origin null (a sandboxed frame, a file:// page or a redirect) may not call this gateway',
      );
    throw new TitanError(
      'forbidden_origin',
      `origin ${quote(origin)} may not call this gateway; list it in gateway.cors.allow_origins to let its pages in`,
    );
  }

  private checkHost(host: string): void {
    if (this.knownHosts.has(host)) return;
    const name = hostnameOf(host);
    if (name !== undefined && this.accepts(name)) {
      if (this.knownHosts.size < 256) this.knownHosts.add(host);
      return;
    }
    throw new TitanError(
      'forbidden_host',
      `host ${quote(host)} is not a name of this gateway (loopback names, and gateway.allowed_hosts); a page reaching it under another name is DNS rebinding`,
    );
  }

  private accepts(name: string): boolean {
    if (isLoopbackName(name) || this.names.has(name) || this.suffixes.some((s) => name.endsWith(s)))
      return true;
    // An address cannot be rebound: a page at http://<the gateway's address> is the gateway itself.
    return !this.opts.loopbackOnly && isAddress(name);
  }

  /** What an answer to an allowed cross origin carries: the same headers hono/cors sets on Hono's side. */
  corsHeaders(origin: string): Record<string, string> {
    return {
      'access-control-allow-origin': origin,
      'access-control-expose-headers': this.exposeHeaders,
      vary: 'Origin',
    };
  }

  /** Hono's side: the check first, then hono/cors (preflights, headers) for allowed cross origins only. */
  middleware(): MiddlewareHandler {
    const { allowHeaders, maxAgeSec } = this.opts.cors;
    const withCors = cors({
      origin: (origin) => origin, // already checked: only allowed origins get here
      allowMethods: ALLOW_METHODS,
      allowHeaders: [
        ...new Set([...BASE_ALLOW_HEADERS, ...allowHeaders.map((h) => h.toLowerCase())]),
      ],
      exposeHeaders: EXPOSE_HEADERS,
      maxAge: maxAgeSec,
    });
    return (c, next) => {
      const allowed = this.check({
        method: c.req.method,
        // In-process requests (app.request('/x')) may have no Host header: their URL's host stands in.
        header: (name) =>
          c.req.header(name) ?? (name === 'host' ? new URL(c.req.url).host : undefined),
      });
      if (allowed === undefined) return next();
      // hono/cors takes every OPTIONS for a preflight; only one that asks (Access-Control-Request-Method)
      // is one. Any other OPTIONS reaches its route, and its answer is readable by the listed origin.
      if (
        c.req.method === 'OPTIONS' &&
        c.req.header('access-control-request-method') === undefined
      ) {
        return next().then(() => {
          for (const [k, v] of Object.entries(this.corsHeaders(allowed))) c.res.headers.set(k, v);
        });
      }
      return withCors(c, next);
    };
  }
}
