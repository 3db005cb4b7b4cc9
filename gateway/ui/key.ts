// The dashboard's key: what lets the page at /ui reach management routes although a web page started
// its requests (gateway/pages.ts keeps pages out, since every function's page shares this origin).
// One random key per process, written into /ui only when the user opened that address directly
// (Sec-Fetch-Site: none, a top-level navigation): a function's page can neither fetch nor frame a
// copy that carries it, and the shell is never cached. The admin token is still required on top.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The request header the dashboard sends its key in. */
export const DASHBOARD_HEADER = 'x-titan-dashboard';

const KEY = randomBytes(32).toString('base64url');
const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
const KEY_DIGEST = digest(KEY);

/** Whether this request came from the dashboard: it carries the key (compared in constant time). */
export function fromDashboard(header: (name: string) => string | undefined): boolean {
  const sent = header(DASHBOARD_HEADER);
  return sent !== undefined && timingSafeEqual(digest(sent), KEY_DIGEST);
}

/**
 * The key for a request of the /ui shell, or undefined when the shell must go without it: only a
 * top-level document the user navigated to directly (typed, bookmarked, reloaded) gets it. A
 * function's page that fetches, frames or opens /ui sends Sec-Fetch-Site: same-origin, or another
 * destination; a client that is no browser needs no key (no page started its requests).
 */
export function keyFor(header: (name: string) => string | undefined): string | undefined {
  const direct = header('sec-fetch-site') === 'none' && header('sec-fetch-mode') === 'navigate' && header('sec-fetch-dest') === 'document';
  return direct ? KEY : undefined;
}
