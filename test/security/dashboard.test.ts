// The dashboard (/ui, issue #16) against hostile input. Its page shares the gateway's origin with
// every function's page, and shows what functions, their logs and events say, so:
// - the shell carries a strict CSP (scripts only from /ui/, no inline script, Trusted Types, no
//   framing), nosniff, no-store, and its static route serves fixed names (no path to traverse);
// - markup in a version, a log line, an event type or a DLQ error is shown as text, never run;
// - the dashboard key that lets the page reach management routes reaches only a document the user
//   opened directly: a function's page can neither fetch, frame nor open a copy carrying it;
// - the admin token stays in the tab's sessionStorage, sealed with a pad only a directly opened /ui
//   holds (a function's page later in the same tab shares that storage): never in a URL or a cookie;
// - the dashboard's window is cut off from any opener, even a same-origin one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { fn, startHarness, eventually, errorOf, type Harness } from '../helpers/harness.ts';
import { sendRaw } from '../helpers/raw-http.ts';
import { deletePrefix, redisClient, sharedRedisUrl, waitFor } from '../helpers/events.ts';
import { launchChromium, screenshot } from '../helpers/dashboard.ts';

const XSS = (n: number) =>
  `<img src=x onerror="window.__pwned=${n}"><script>window.__pwned=${n}</script>`;
const LOGGER = `export default async () => { console.log(${JSON.stringify(XSS(2))}); return ${JSON.stringify({ answer: XSS(3) })}; };`;
const FAILER = `export default async () => { throw new Error(${JSON.stringify(`declined ${XSS(4)}`)}); };`;
/** A function's page on the gateway's origin, trying to get the dashboard's key or its power. */
const SPY = `export default async () => ({ statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: \`<!doctype html><title>spy</title>
<iframe id="f" src="/ui"></iframe>
<script>
window.results = (async () => {
  const out = {};
  const hasKey = (text) => /titan-dashboard-key/.test(text);
  out.fetched = hasKey(await (await fetch('/ui')).text());
  out.fetchedNoCors = hasKey(await (await fetch('/ui', { mode: 'same-origin', cache: 'force-cache' })).text());
  const w = window.open('/ui', 'dash');
  await new Promise((r) => setTimeout(r, 1500));
  try { out.opened = w && !w.closed ? hasKey(w.document.documentElement.outerHTML) : 'no access'; } catch (e) { out.opened = 'no access'; }
  try { const d = document.getElementById('f').contentDocument; out.framed = d ? hasKey(d.documentElement.outerHTML) : 'no access'; } catch (e) { out.framed = 'no access'; }
  out.logs = (await fetch('/functions/spy/logs', { headers: { 'x-titan-dashboard': 'a-guess' } })).status;
  return out;
})();
</script>\` });`;

/** Function pages that share a browsing context group with what they open (COOP same-origin, as any function may set). */
const coopPage = (html: string) =>
  `export default async () => ({ statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cross-origin-opener-policy': 'same-origin' }, body: ${JSON.stringify(html)} });`;
const OPENER = coopPage(`<!doctype html><title>opener</title><script>
window.w = window.open('/function/blank', 'popup');
window.probe = () => { try { return w.document.querySelector('meta[name=titan-dashboard-key]') ? 'key read' : 'no key'; } catch (e) { return 'no access'; } };
</script>`);

const directNav = {
  'sec-fetch-site': 'none',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
};
const keyIn = (html: string): string | undefined =>
  /<meta name="titan-dashboard-key" content="([^"]+)">/.exec(html)?.[1];

describe('the dashboard against hostile input', () => {
  let h: Harness;
  let port: number;
  let browser: Browser;

  before(async () => {
    await sharedRedisUrl();
    [h, browser] = await Promise.all([
      startHarness({
        evil: fn(LOGGER, `version: ${JSON.stringify(XSS(1))}\npool:\n  min: 1\n`),
        failer: fn(FAILER, 'version: "1"\nmax_attempts: 1\ntriggers:\n  - topic: hostile\n'),
        spy: fn(SPY),
        opener: fn(OPENER),
        blank: fn(coopPage('<!doctype html><title>blank</title>')),
      }),
      launchChromium(),
    ]);
    port = await h.gw.listen();
    await waitFor(
      'the trigger to subscribe',
      async () =>
        ((await (await h.request('/healthz')).json()) as { triggers: { state: string } }).triggers
          .state === 'subscribed',
    );
  });

  after(async () => {
    await browser?.close();
    const prefix = h?.config.events.keyPrefix;
    await h?.close();
    if (prefix) {
      const redis = redisClient(await sharedRedisUrl());
      await deletePrefix(redis, prefix);
      redis.disconnect();
    }
  });

  test('the shell and its assets carry a strict CSP, nosniff, no framing; the shell is never cached', async () => {
    for (const path of ['/ui', '/ui/', '/ui/app.js', '/ui/app.css']) {
      const res = await sendRaw(port, path, { headers: directNav });
      assert.equal(res.status, 200, path);
      const csp = String(res.headers['content-security-policy']);
      assert.match(
        csp,
        new RegExp(
          `script-src http://127\\.0\\.0\\.1:${port}/ui/ https://127\\.0\\.0\\.1:${port}/ui/;`,
        ),
        path,
      );
      for (const part of [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "require-trusted-types-for 'script'",
        "connect-src 'self'",
      ])
        assert.ok(csp.includes(part), `${path}: ${part}`);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(res.headers['x-frame-options'], 'DENY', path);
      assert.equal(res.headers['cross-origin-opener-policy'], 'noopener-allow-popups', path);
    }
    const shell = await sendRaw(port, '/ui', { headers: directNav });
    assert.equal(shell.headers['cache-control'], 'no-store');
    assert.doesNotMatch(shell.body, /<script>|<script [^>]*>[^<]/, 'no inline script');
    assert.match(
      (await sendRaw(port, '/ui/app.js')).headers['content-type'] ?? '',
      /^text\/javascript/,
    );
  });

  test('the static route refuses path traversal, encoded or not, and serves only its three names', async () => {
    const paths = [
      '/ui/../../etc/passwd',
      '/ui/..%2f..%2fetc%2fpasswd',
      '/ui/%2e%2e/%2e%2e/etc/passwd',
      '/ui/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
      '/ui/%252e%252e/%252e%252e/etc/passwd',
      '/ui/..\\..\\etc\\passwd',
      '/ui/..%5c..%5cpackage.json',
      '/ui/app.js/../../package.json',
      '/ui//etc/passwd',
      '/ui/app.js%00.css',
      '/ui/client/main.ts',
      '/ui/bundle.ts',
    ];
    for (const path of paths) {
      const res = await sendRaw(port, path);
      assert.ok(res.status === 404 || res.status === 400, `${path}: ${res.status}`);
      assert.doesNotMatch(res.body, /root:|titan-functions|import /, path);
      // A backslash in the request line is Node's own 400 (no body); every other refusal is the gateway's.
      if (res.status === 404) assert.equal(JSON.parse(res.body).error.code, 'not_found', path);
    }
    // Dot segments are resolved in the URL (as a browser does) before routing: this is /ui/, the shell.
    const dotted = await sendRaw(port, '/ui/./app.css/..');
    assert.equal(dotted.status, 200);
    assert.match(dotted.body, /^<!doctype html>/);
    const refused = await h.request('/ui/anything');
    assert.equal((await errorOf(refused)).code, 'not_found');
    assert.match(refused.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  });

  test('the dashboard key goes only to a document the user opened directly', async () => {
    assert.ok(
      keyIn((await sendRaw(port, '/ui', { headers: directNav })).body),
      'a typed address gets the key',
    );
    const without: Array<[string, Record<string, string>]> = [
      ['no fetch metadata (curl)', {}],
      [
        'a link or window.open from a page of this origin',
        { ...directNav, 'sec-fetch-site': 'same-origin' },
      ],
      ['a link from another site', { ...directNav, 'sec-fetch-site': 'cross-site' }],
      [
        'a fetch',
        { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
      ],
      [
        'a frame',
        { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' },
      ],
      [
        'a no-cors fetch',
        { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'empty' },
      ],
    ];
    for (const [what, headers] of without) {
      const res = await sendRaw(port, '/ui', { headers });
      assert.equal(res.status, 200, what);
      assert.equal(keyIn(res.body), undefined, what);
    }
  });

  test('management routes take a page-started request only with the right key', async () => {
    const key = keyIn((await sendRaw(port, '/ui', { headers: directNav })).body)!;
    const page = { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' };
    const logs = (headers: Record<string, string>) =>
      sendRaw(port, '/functions/evil/logs', { headers });
    assert.equal((await logs(page)).status, 403, 'a page without the key');
    assert.equal(
      JSON.parse((await logs({ ...page, 'x-titan-dashboard': `${key}x` })).body).error.code,
      'forbidden_origin',
      'a wrong key',
    );
    assert.equal(
      (await logs({ ...page, 'x-titan-dashboard': key.slice(0, -1) })).status,
      403,
      'a truncated key',
    );
    assert.equal((await logs({ ...page, 'x-titan-dashboard': key })).status, 200, 'the dashboard');
    // Another site's page gets nothing from a key: BrowserPolicy refuses its origin first.
    assert.equal(
      (await logs({ origin: 'http://evil.example', 'x-titan-dashboard': key })).status,
      403,
    );
  });

  test('the stats routes validate names and change nothing', async () => {
    assert.equal(
      (await errorOf(await h.request('/stats/functions/..%2F..%2Fetc'))).code,
      'invalid_name',
    );
    assert.equal((await errorOf(await h.request('/stats/functions/nosuch'))).code, 'not_found');
    assert.equal((await h.request('/stats/functions', { method: 'POST' })).status, 404);
    const manifest = (
      (await (await h.request('/stats/functions/evil')).json()) as {
        manifest: Record<string, unknown>;
      }
    ).manifest;
    assert.deepEqual(
      ['config', 'env', 'dir'].filter((k) => k in manifest),
      [],
      'no env, config or host path',
    );
  });

  test('markup in a version, a log line, an answer, an event type and a DLQ error is shown as text, never run', async () => {
    const published = await h.request('/events/hostile', {
      method: 'POST',
      body: JSON.stringify({ type: `<svg onload="window.__pwned=5">`, data: { x: XSS(6) } }),
    });
    assert.equal(published.status, 201);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const violations: string[] = [];
    page.on(
      'console',
      (m) =>
        m.type() === 'error' &&
        /Content Security Policy|Trusted Type/i.test(m.text()) &&
        violations.push(m.text()),
    );
    const pwned = () =>
      page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned ?? null);
    const images = () =>
      page.evaluate(
        () => document.querySelectorAll('img, svg[onload], main script, iframe').length,
      );

    await page.goto(`http://127.0.0.1:${port}/ui`);
    const version = page.locator('tr[data-function="evil"] td.version');
    await version.waitFor();
    assert.equal(await version.textContent(), XSS(1));

    await page.goto(`http://127.0.0.1:${port}/ui#/fn/evil`);
    await page.getByRole('button', { name: 'Invoke' }).click();
    await page.locator('#invoke-answer', { hasText: 'window.__pwned=3' }).waitFor();
    const line = page.locator('#log-lines li .text', { hasText: 'window.__pwned=2' }).first();
    await line.waitFor();
    assert.equal(await line.textContent(), XSS(2));

    await page.goto(`http://127.0.0.1:${port}/ui#/events`);
    const entry = page.locator('table.dlq tr[data-entry]', { hasText: 'failer' });
    await entry.waitFor({ timeout: 20_000 });
    assert.match(
      (await entry.locator('.dlq-error').textContent()) ?? '',
      /declined <img src=x onerror="window.__pwned=4">/,
    );
    assert.match((await entry.textContent()) ?? '', /<svg onload="window.__pwned=5">/);
    await screenshot(page, 'dashboard-hostile');

    assert.equal(await pwned(), null, 'no injected script ran');
    assert.equal(await images(), 0, 'no injected element exists');
    assert.deepEqual(
      violations,
      [],
      'nothing was even attempted: no CSP or Trusted Types violation',
    );
    await page.close();
  });

  test("a function's page on the same origin cannot fetch, frame or open a copy of the dashboard that holds the key", async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/function/spy`);
    const results = await page.evaluate(
      () => (window as unknown as { results: Promise<Record<string, unknown>> }).results,
    );
    assert.deepEqual(results, {
      fetched: false,
      fetchedNoCors: false,
      opened: 'no access',
      framed: 'no access',
      logs: 403,
    });
    await page.context().close();
  });

  test("a window a function's page opened, where the user then types /ui, is cut off from its opener", async () => {
    // The dashboard's opener policy (noopener-allow-popups) puts it in a browsing context group of its
    // own even when the opener is of the same origin and asked for same-origin itself.
    const context = await browser.newContext();
    const page = await context.newPage();
    const popup = context.waitForEvent('page');
    await page.goto(`http://127.0.0.1:${port}/function/opener`);
    const dashboard = await popup;
    await dashboard.waitForLoadState();
    assert.equal(
      await page.evaluate(() => (window as unknown as { probe(): string }).probe()),
      'no key',
      'the opener reaches its popup',
    );
    await dashboard.goto(`http://127.0.0.1:${port}/ui`); // as if typed in the popup's address bar
    await dashboard.locator('#nav a').first().waitFor();
    assert.equal(
      await dashboard.evaluate(
        () => document.querySelector('meta[name="titan-dashboard-key"]') !== null,
      ),
      true,
      'the user opened it directly',
    );
    assert.equal(
      await page.evaluate(() => (window as unknown as { probe(): string }).probe()),
      'no access',
    );
    await context.close();
  });
});

describe('the admin token in the dashboard', () => {
  const TOKEN = 'tab-only-token-5be1e0c7';
  let h: Harness;
  let browser: Browser;

  before(async () => {
    [h, browser] = await Promise.all([
      startHarness(
        {
          tidy: fn('export default async (e, ctx) => { console.log("tidy"); return 1; };'),
          page: fn(coopPage('<!doctype html><title>a function page</title>')),
        },
        {},
        { adminToken: TOKEN },
      ),
      launchChromium(),
    ]);
  });

  after(async () => {
    await browser?.close();
    await h?.close();
  });

  test('is kept in sessionStorage only: never in a URL or a cookie; every call sends it as a bearer', async () => {
    const origin = `http://127.0.0.1:${await h.gw.listen()}`;
    const context = await browser.newContext();
    const page = await context.newPage();
    const seen: Array<{ url: string; authorization?: string }> = [];
    context.on('request', (r) =>
      seen.push({ url: r.url(), authorization: r.headers().authorization }),
    );
    await page.goto(`${origin}/ui`);
    await page.getByLabel('Token', { exact: true }).waitFor();
    const signIn = seen.length; // the calls before it asked for the token had none to send
    await page.getByLabel('Token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('tr[data-function="tidy"]').waitFor();
    await page.goto(`${origin}/ui#/fn/tidy`);
    await page.getByRole('button', { name: 'Invoke' }).click();
    await page.locator('#log-lines li', { hasText: 'tidy' }).first().waitFor();
    // A reload keeps the tab's token and gets the key again (a reload is the user's own navigation).
    await page.reload();
    await page.getByLabel('Max containers').fill('3');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('#pool-result', { hasText: 'Pool updated.' }).waitFor();
    await page.goto(`${origin}/ui#/events`);
    await page.locator('#events-state').waitFor();

    assert.deepEqual(
      seen.filter((r) => r.url.includes(TOKEN)).map((r) => r.url),
      [],
      'no URL holds the token',
    );
    assert.deepEqual(await context.cookies(), [], 'no cookie');
    const stored = await page.evaluate(() => ({ ...sessionStorage }));
    assert.deepEqual(Object.keys(stored), ['titan.admin-token.sealed'], 'the tab holds it, sealed');
    assert.doesNotMatch(
      JSON.stringify(stored),
      new RegExp(`${TOKEN}|${Buffer.from(TOKEN).toString('base64').slice(0, 12)}`),
      'never as it is',
    );
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    const apiCalls = seen
      .slice(signIn)
      .filter((r) => /\/(functions|stats|dlq|invocations)\b/.test(new URL(r.url).pathname));
    assert.ok(apiCalls.length > 5);
    assert.deepEqual(
      apiCalls.filter((r) => r.authorization !== `Bearer ${TOKEN}`).map((r) => r.url),
      [],
      'every API call carries the bearer',
    );
    assert.equal(
      await eventually(
        async () =>
          ((await (await h.request('/functions/tidy')).json()) as { pool: { max: number } }).pool
            .max === 3,
      ),
      true,
    );
    // A page of the same origin opened later in this tab (a function's) shares its sessionStorage:
    // it finds the sealed bytes, and no pad to open them with.
    await page.goto(`${origin}/function/page`);
    const found = await page.evaluate(() => ({
      storage: JSON.stringify({ ...sessionStorage }),
      html: document.documentElement.outerHTML,
    }));
    assert.doesNotMatch(found.storage, new RegExp(TOKEN));
    assert.match(found.storage, /titan\.admin-token\.sealed/);
    assert.doesNotMatch(found.html, /titan-dashboard-(key|seal)/);
    await context.close();
  });
});
