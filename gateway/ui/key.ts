// The dashboard's key: what lets the page at /ui reach management routes although a web page started
// its requests (gateway/pages.ts keeps pages out, since every function's page shares this origin).
// One random key per process, written into /ui only when the user opened that address directly
// (Sec-Fetch-Site: none, a top-level navigation): a function's page can neither fetch nor frame a
// copy that carries it, and the shell is never cached. The admin token is still required on top.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

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
export function keyFor(
  header: (name: string) => string | undefined,
): { key: string; seal: string } | undefined {
  const direct =
    header('sec-fetch-site') === 'none' &&
    header('sec-fetch-mode') === 'navigate' &&
    header('sec-fetch-dest') === 'document';
  return direct ? { key: KEY, seal: SEAL } : undefined;
}

/** Bytes of the seal: the longest admin token the dashboard keeps in sessionStorage. */
export const SEAL_BYTES = 512;

/**
 * A pad the dashboard XORs the admin token with before it goes into sessionStorage, given with the
 * key (same process, same pad: a reload can read what the last page stored). sessionStorage belongs
 * to the tab and the origin, so a function's page opened later in the same tab can read it; sealed,
 * it finds bytes it cannot use without the pad, which only a directly opened /ui holds.
 */
export const SEAL = Buffer.concat(
  Array.from({ length: SEAL_BYTES / 32 }, (_, i) =>
    createHmac('sha256', KEY).update(`titan-dashboard-seal-${i}`).digest(),
  ),
).toString('base64url');
