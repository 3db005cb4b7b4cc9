// Requests a web page started, and what they may not reach. BrowserPolicy (origin.ts) lets through
// pages of the gateway's own origin and links followed from other sites. Since `/function/<name>`
// serves pages, the gateway's origin is every function author's: a function's page, opened by the
// user, would act as the admin on a loopback gateway without a token (read other functions' logs,
// /reload, run shell_runner). So management routes and protected functions answer no request a page
// started, unless the page's origin is listed in gateway.cors.allow_origins (the admin's choice).
import { TitanError } from '../runtime/errors.ts';
import type { FunctionSpec } from '../runtime/spec.ts';
import type { TokenCheck } from './auth.ts';
import { fromDashboard } from './ui/key.ts';

/**
 * Whether a web page started this request: it has an Origin BrowserPolicy let through without it
 * being listed (the gateway's own: a function's page), or Sec-Fetch-Site says a page sent it (a
 * same-origin fetch or link, a link followed from another site). Not: clients that are no browser
 * (curl, the CLI), an address the user typed (`none`), or a listed origin (`listedOrigin`, what
 * BrowserPolicy.check returned), the dashboard (its key).
 */
export function pageStarted(
  header: (name: string) => string | undefined,
  listedOrigin: string | undefined,
): boolean {
  if (listedOrigin !== undefined) return false;
  // The dashboard (/ui) is a page the user opened directly, holding a key no function's page can get
  // (gateway/ui/key.ts): it is the admin's client, as curl is. The token is still asked for.
  if (fromDashboard(header)) return false;
  if (header('origin') !== undefined) return true;
  const site = header('sec-fetch-site');
  return site !== undefined && site !== 'none';
}

const WHY =
  "a function's page shares this gateway's origin, so pages are not trusted with what only the admin's clients may reach";

/** The refusal of a page-started request to a management route. */
export const managementRefused = (): TitanError =>
  new TitanError(
    'forbidden_origin',
    `management routes answer no request a web page started (${WHY}); use curl or the CLI, or list the page's origin in gateway.cors.allow_origins`,
  );

/**
 * Whether `spec` is one that TokenCheck.mayInvoke guards beyond an open function: `auth: token`, or
 * mounting host paths (the token as soon as one is set). Pages may reach neither, token or not.
 */
const guarded = (spec: Pick<FunctionSpec, 'auth' | 'fs'>): boolean =>
  spec.auth === 'token' || spec.fs.mounts.length > 0;

/** Who may invoke `spec`: pages never a guarded function (403 forbidden_origin), then the token rules (401). */
export function mayInvoke(
  auth: TokenCheck,
  spec: Pick<FunctionSpec, 'name' | 'auth' | 'fs'>,
  authorization: string | undefined,
  fromPage: boolean,
): void {
  if (fromPage && guarded(spec)) {
    const what = spec.auth === 'token' ? 'needs the admin token' : 'mounts host paths';
    throw new TitanError(
      'forbidden_origin',
      `function '${spec.name}' ${what}, so it answers no request a web page started (${WHY}); call it from curl or the CLI, or from an origin listed in gateway.cors.allow_origins`,
    );
  }
  auth.mayInvoke(spec, authorization);
}
