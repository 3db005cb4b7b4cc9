// The dashboard (/ui, issue #16) in Debian's Chromium against a real gateway, engine and Redis: the
// list shows a warm function, the invoke form answers, the pool form changes GET /functions/:name,
// a failing event reaches the DLQ view and its replay runs, live logs show a printed line, and a
// gateway with an admin token asks for it and refuses a wrong one. Screenshots: test/artifacts/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fn, startHarness, eventually, type Harness } from '../helpers/harness.ts';
import { deletePrefix, redisClient, sharedRedisUrl, waitFor } from '../helpers/events.ts';
import { launchChromium, screenshot, textWhen } from '../helpers/dashboard.ts';

const HELLO = `export default async (event, context) => { console.log('hello from ' + context.invocationId); return { hello: event?.name ?? 'world' }; };`;
// Fails its first call only: the same warm container (max 1) serves the replay, which succeeds.
const ONCE = `let calls = 0; export default async () => { if (++calls === 1) throw new Error('the first delivery fails'); return { ok: calls }; };`;

describe('the dashboard in a browser', () => {
  let h: Harness;
  let url: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    const redisUrl = await sharedRedisUrl();
    [h, browser] = await Promise.all([
      startHarness({
        hello: fn(HELLO, 'version: "1.2"\npool:\n  min: 1\n  max: 4\n'),
        replayer: fn(
          ONCE,
          'version: "1"\nmax_attempts: 1\npool:\n  min: 1\n  max: 1\ntriggers:\n  - topic: orders\n',
        ),
      }),
      launchChromium(),
    ]);
    assert.ok(redisUrl);
    url = `http://127.0.0.1:${await h.gw.listen()}/ui`;
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
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

  const info = async (name: string) =>
    (await (await h.request(`/functions/${name}`)).json()) as {
      pool: { min: number; max: number };
      pool_overridden: boolean;
      stats: { invocations: number };
    };

  test('the functions list shows a deployed function warm', async () => {
    await page.goto(url);
    const row = page.locator('tr[data-function="hello"]');
    await row.locator('.gauge[data-warm="1"]').waitFor();
    assert.equal(await row.locator('td.status').textContent(), 'ready');
    assert.equal(await row.locator('td.version').textContent(), '1.2');
    assert.match(
      (await row.locator('.gauge-text').textContent()) ?? '',
      /^1 warm · 0 busy · 0 starting · 0 queued \(min 1, max 4\)$/,
    );
    assert.equal(
      await page.locator('tr[data-function="replayer"] td.triggers').textContent(),
      'orders',
    );
    // At 1280 px the whole table fits: no column is scrolled out of view.
    assert.equal(
      await page
        .locator('.scroll')
        .first()
        .evaluate((el) => el.scrollWidth <= el.clientWidth),
      true,
      'the list fits 1280 px',
    );
    await screenshot(page, 'dashboard-functions');
  });

  test('invoking from the form shows the answer, status, invocation id and a warm start', async () => {
    await page.goto(`${url}#/fn/hello`);
    const editor = page.getByLabel('Event (JSON)');
    await editor.fill('{"name": oops}');
    assert.equal(
      await page.getByRole('button', { name: 'Invoke' }).isDisabled(),
      true,
      'invalid JSON is not sent',
    );
    assert.equal(await editor.getAttribute('aria-invalid'), 'true');
    await editor.fill('{"name": "dashboard"}');
    await page.getByRole('button', { name: 'Invoke' }).click();
    const id = await textWhen(page, '#invoke-id', /^[0-9a-f-]{36}$/);
    assert.equal(await page.locator('#invoke-status').textContent(), '200 OK');
    assert.equal(await page.locator('#invoke-start').textContent(), 'warm');
    assert.deepEqual(JSON.parse((await page.locator('#invoke-answer').textContent()) ?? ''), {
      hello: 'dashboard',
    });
    assert.match((await page.locator('#invoke-duration').textContent()) ?? '', /^\d+\.\d ms$/);
    // Live logs: the line this invocation printed, found by the invocation id filter the form set.
    assert.equal(await page.getByLabel('Invocation id').inputValue(), id);
    const line = page.locator(`#log-lines li[data-invocation="${id}"]:visible`);
    await line.waitFor();
    assert.match(
      (await line.locator('.text').textContent()) ?? '',
      new RegExp(`^hello from ${id}$`),
    );
    await screenshot(page, 'dashboard-function');
  });

  test('live logs follow new lines, and the filter hides other invocations', async () => {
    await page.goto(`${url}#/fn/hello`);
    await page.locator('#log-state', { hasText: 'following' }).waitFor();
    await page.getByLabel('Invocation id').fill(''); // the invoke test left its filter set
    const a = await h.invoke('hello', {});
    const b = await h.invoke('hello', {});
    const [idA, idB] = [a.headers.get('x-invocation-id')!, b.headers.get('x-invocation-id')!];
    await page.locator(`#log-lines li[data-invocation="${idB}"]`).waitFor();
    await page.getByLabel('Invocation id').fill(idA);
    assert.equal(await page.locator(`#log-lines li[data-invocation="${idA}"]`).isVisible(), true);
    assert.equal(await page.locator(`#log-lines li[data-invocation="${idB}"]`).isVisible(), false);
  });

  test('changing the pool from the page changes GET /functions/:name, and reset returns to the manifest', async () => {
    await page.goto(`${url}#/fn/hello`);
    await page.locator('#pool-source', { hasText: "manifest's settings" }).waitFor();
    await page.getByLabel('Max containers').fill('3');
    await page.getByLabel('Idle seconds').fill('45');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('#pool-result', { hasText: 'Pool updated.' }).waitFor();
    let now = await info('hello');
    assert.equal(now.pool.max, 3);
    assert.equal(now.pool_overridden, true);
    await page.locator('#pool-source', { hasText: 'changed through the API' }).waitFor();
    await page.getByRole('button', { name: 'Reset to manifest' }).click();
    await page
      .locator('#pool-result', { hasText: "Back to the manifest's pool settings." })
      .waitFor();
    now = await info('hello');
    assert.equal(now.pool.max, 4);
    assert.equal(now.pool_overridden, false);
    assert.equal(await page.getByLabel('Max containers').inputValue(), '4');
    // A value the API refuses is shown with its code, and nothing changes.
    await page.getByLabel('Min containers').fill('9');
    await page.getByRole('button', { name: 'Apply' }).click();
    await textWhen(page, '#pool-result.error', /^invalid_request: /);
    assert.equal((await info('hello')).pool.min, 1);
  });

  test('a failing event shows up in the DLQ view, and replay runs it again', async () => {
    const published = await h.request('/events/orders', {
      method: 'POST',
      body: JSON.stringify({ type: 'created', data: { order: 7 } }),
    });
    assert.equal(published.status, 201);
    await page.goto(`${url}#/events`);
    const topic = page.locator('table.topics tr', { hasText: 'orders' });
    await topic.waitFor();
    assert.match((await topic.textContent()) ?? '', /replayer/);
    const entry = page.locator('table.dlq tr[data-entry]', { hasText: 'replayer' });
    await entry.waitFor({ timeout: 20_000 });
    assert.match(
      (await entry.locator('.dlq-error').textContent()) ?? '',
      /the first delivery fails/,
    );
    await page.locator('table.queues tr', { hasText: 'replayer' }).waitFor();
    await screenshot(page, 'dashboard-events');
    await entry.getByRole('button', { name: /^Replay entry / }).click();
    await textWhen(page, '#dlq-result', /is back on replayer's queue\.$/);
    await page.locator('#dlq-empty:visible').waitFor();
    // The replay ran and succeeded: two invocations, nothing dead-lettered again.
    assert.equal(
      await eventually(async () => (await info('replayer')).stats.invocations === 2, 15_000),
      true,
    );
    assert.deepEqual(
      ((await (await h.request('/dlq')).json()) as { entries: unknown[] }).entries,
      [],
    );
  });

  test('usable at a phone width (390 px): nothing overflows the page sideways', async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    for (const view of ['', '#/fn/hello', '#/events']) {
      await phone.goto(`${url}${view}`);
      await phone.locator('main h2').first().waitFor();
      await phone.waitForLoadState('networkidle').catch(() => {}); // the logs stream never idles
      const width = await phone.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `${view || 'the list'} is ${width} px wide`);
    }
    await phone.goto(`${url}#/fn/hello`);
    await phone.locator('#fn-manifest dl').waitFor();
    await screenshot(phone, 'dashboard-phone');
    await phone.close();
  });
});

describe('the dashboard of a gateway with an admin token', () => {
  const TOKEN = 'dashboard-token-9f2c41';
  let h: Harness;
  let browser: Browser;

  before(async () => {
    [h, browser] = await Promise.all([
      startHarness({ quiet: fn('export default async () => 1;') }, {}, { adminToken: TOKEN }),
      launchChromium(),
    ]);
  });

  after(async () => {
    await browser?.close();
    await h?.close();
  });

  test('asks for the token, refuses a wrong one, and works with the right one', async () => {
    const url = `http://127.0.0.1:${await h.gw.listen()}/ui`;
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url);
    const input = page.getByLabel('Token', { exact: true });
    await input.waitFor();
    await input.fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await textWhen(page, '#token-error', /refused this token/);
    assert.equal(
      await page.locator('table.functions').count(),
      0,
      'nothing is shown without the token',
    );
    await screenshot(page, 'dashboard-token');
    await input.fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('tr[data-function="quiet"]').waitFor();
    // The pool form reaches a management route with the token: the page is the admin's client.
    await page.goto(`${url}#/fn/quiet`);
    await page.getByLabel('Max containers').fill('2');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('#pool-result', { hasText: 'Pool updated.' }).waitFor();
    assert.equal(
      ((await (await h.request('/functions/quiet')).json()) as { pool: { max: number } }).pool.max,
      2,
    );
    await page.close();
  });
});
