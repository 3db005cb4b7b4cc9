// The headers every /ui answer carries: a strict Content-Security-Policy (scripts only from /ui/,
// no inline script, no framing, Trusted Types so no string can become HTML), no sniffing, no caching
// of the shell (it may carry the dashboard key), and an opener policy that keeps other pages of this
// origin (functions' pages) out of the dashboard's window: `same-origin` would not, as a function's
// page may ask for same-origin too and then share a browsing context group with what it opens;
// `noopener-allow-popups` cuts every opener (Chromium 134+; elsewhere it reads as unsafe-none, and a
// cross-origin opener could not read the page anyway).

/**
 * The policy for a page served under `host` (the Host header, already checked by BrowserPolicy).
 * CSP host-sources cannot name an IPv6 literal; there 'self' stands in for the /ui/ path.
 */
export function contentSecurityPolicy(host: string | undefined): string {
  const scripts =
    host && !host.startsWith('[') ? `http://${host}/ui/ https://${host}/ui/` : "'self'";
  return [
    "default-src 'none'",
    `script-src ${scripts}`,
    `style-src ${scripts}`,
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

export function securityHeaders(
  host: string | undefined,
  cache: 'no-store' | 'cache',
): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(host),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'noopener-allow-popups',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': cache === 'no-store' ? 'no-store' : 'private, max-age=300',
  };
}
