// Every folder in examples/ deployed as it is (copied into a harness, as the README says to copy it
// into functions/) and exercised: hello, hello-py and hello-ts over HTTP, the pipeline end to end over
// Redis, the webhook's signature check, and the form page in a real Chromium.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { chromium } from 'playwright-core';
import YAML from 'yaml';
import { defaultConfig } from '../../runtime/config.ts';
import { ensureRuntimeImage } from '../../runtime/image/runtime-image.ts';
import {
  errorOf,
  startHarness,
  testEngine,
  type FunctionFiles,
  type Harness,
} from '../helpers/harness.ts';
import {
  deletePrefix,
  json,
  readStream,
  redisClient,
  sharedRedisUrl,
  waitFor,
} from '../helpers/events.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

/** Deployable folders under examples/ (those holding a function.yaml), relative to it. */
async function exampleFolders(dir = EXAMPLES): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  if (entries.some((e) => e.name === 'function.yaml')) return [relative(EXAMPLES, dir)];
  const nested = await Promise.all(
    entries.filter((e) => e.isDirectory()).map((e) => exampleFolders(join(dir, e.name))),
  );
  return nested.flat().sort();
}

/** An example folder's files, as the harness writes them (examples are flat folders). */
async function filesOf(example: string): Promise<FunctionFiles> {
  const dir = join(EXAMPLES, example);
  const files: FunctionFiles = {};
  for (const e of await readdir(dir, { withFileTypes: true })) {
    assert.ok(e.isFile(), `${example}/${e.name}: the test copies flat folders only`);
    files[e.name] = await readFile(join(dir, e.name), 'utf8');
  }
  return files;
}

// Deployed under their folder's base name, as `cp -r examples/<path> functions/` would.
const TESTED = [
  'form-page',
  'hello',
  'hello-py',
  'hello-ts',
  'pipeline/consumer',
  'pipeline/producer',
  'webhook',
];
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('examples', () => {
  let h: Harness;
  let redis: Redis;
  let prefix: string;
  let port: number;
  let webhookSecret: string;

  before(async () => {
    // hello-py needs the python image; CI's setup made it, this makes the test stand alone.
    await ensureRuntimeImage(testEngine(), defaultConfig().sandbox.pythonImage, {
      kind: 'python',
    });
    redis = redisClient(await sharedRedisUrl());
    const functions: Record<string, FunctionFiles> = {};
    for (const ex of TESTED) functions[ex.split('/').pop()!] = await filesOf(ex);
    webhookSecret = YAML.parse(functions.webhook!['function.yaml']!).env.WEBHOOK_SECRET;
    h = await startHarness(functions);
    prefix = h.config.events.keyPrefix; // the config the gateway runs on
    port = await h.gw.listen(); // the form page is opened in a browser
    await waitFor(
      'the trigger to subscribe',
      async () => (await json(h.request('/healthz'))).body.triggers.state === 'subscribed',
    );
  });
  after(async () => {
    await h?.close();
    if (redis) {
      if (prefix) await deletePrefix(redis, prefix);
      redis.disconnect();
    }
  });

  test('every example folder is exercised here', async () => {
    assert.deepEqual(await exampleFolders(), TESTED);
    const { body } = await json(h.request('/functions'));
    for (const f of body.functions as Array<{ name: string; status: string; error?: string }>)
      assert.equal(f.status, 'ready', `${f.name}: ${f.error}`);
  });

  test('hello (JavaScript) answers over HTTP', async () => {
    const res = await json(h.invoke('hello', { name: 'Ada' }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { message: 'hello, Ada' });
    assert.deepEqual(
      (await json(h.invoke('hello', ''))).body,
      { message: 'hello, world' },
      'an empty body is a null event',
    );
  });

  test('hello-ts (TypeScript, two modules) answers over HTTP', async () => {
    const res = await json(h.invoke('hello-ts', { name: ' Ada ', language: 'fr' }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      message: 'bonjour, Ada',
      name: 'Ada',
      language: 'fr',
      invocationId: res.headers.get('x-invocation-id'),
    });
    const plain = await json(h.invoke('hello-ts', { language: 'xx' }));
    assert.equal(plain.body.message, 'hello, world');
  });

  test('hello-py (Python) answers over HTTP', async () => {
    const res = await json(h.invoke('hello-py', { name: ' Ada ' }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      message: 'hello, Ada',
      invocationId: res.headers.get('x-invocation-id'),
    });
    assert.equal(
      (await json(h.invoke('hello-py', ''))).body.message,
      'hello, world',
      'an empty body is None',
    );
  });

  test('pipeline: the producer emits an order over HTTP, the consumer runs on it, emits a receipt and its result lands on titan.results', async () => {
    const res = await json(h.invoke('producer', { item: 'book', quantity: 2 }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { orderId } = res.body;
    assert.deepEqual(res.body, { orderId, item: 'book', quantity: 2, status: 'placed' });

    const order = (await readStream(redis, `${prefix}shop.orders`)).find(
      (e) => JSON.parse(e.fields.data!).orderId === orderId,
    );
    assert.ok(order, 'the order event is on shop.orders when the producer has answered');
    assert.equal(order.fields.type, 'order_placed');
    assert.equal(order.fields.source, 'function:producer');

    const done = await waitFor('the consumer result on titan.results', async () =>
      (await readStream(redis, `${prefix}titan.results`)).find(
        (e) => e.fields.function === 'consumer' && e.fields.event_id === order.id,
      ),
    );
    assert.equal(done.fields.outcome, 'ok', done.fields.error);
    assert.equal(done.fields.topic, 'shop.orders');
    const receipt = {
      orderId,
      item: 'book',
      quantity: 2,
      totalCents: 2400,
      receivedFrom: 'function:producer',
    };
    assert.deepEqual(JSON.parse(done.fields.result!), receipt);

    const emitted = await waitFor('the receipt on shop.receipts', async () =>
      (await readStream(redis, `${prefix}shop.receipts`)).find(
        (e) => JSON.parse(e.fields.data!).orderId === orderId,
      ),
    );
    assert.equal(emitted.fields.type, 'receipt_ready');
    assert.equal(emitted.fields.source, 'function:consumer');
    assert.deepEqual(JSON.parse(emitted.fields.data!), receipt);
  });

  test('pipeline: a bad order is a function error and emits nothing', async () => {
    const before = (await readStream(redis, `${prefix}shop.orders`)).length;
    const res = await h.invoke('producer', { quantity: 2 });
    assert.equal(res.status, 500);
    const e = await errorOf(res);
    assert.equal(e.code, 'function_error');
    assert.match(e.message, /needs an "item"/);
    assert.equal((await readStream(redis, `${prefix}shop.orders`)).length, before);
  });

  test('webhook: a delivery signed with the secret is accepted (202); a wrong or missing signature is 401; GET is 405', async () => {
    const body = JSON.stringify({ action: 'opened', number: 7, title: 'grüße' });
    const sign = (secret: string, raw: string) =>
      `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
    const deliver = (headers: Record<string, string>, raw = body) =>
      h.request('/function/webhook', {
        method: 'POST',
        body: raw,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'issues',
          'x-github-delivery': 'd-1',
          ...headers,
        },
      });

    const ok = await deliver({ 'x-hub-signature-256': sign(webhookSecret, body) });
    assert.equal(ok.status, 202);
    assert.deepEqual(await ok.json(), {
      accepted: true,
      event: 'issues',
      delivery: 'd-1',
      action: 'opened',
    });

    const refusals: Array<[string, Record<string, string>, string?]> = [
      ['another secret', { 'x-hub-signature-256': sign('not the secret', body) }],
      [
        'a signature of another body',
        { 'x-hub-signature-256': sign(webhookSecret, body) },
        body.replace('opened', 'closed'),
      ],
      ['no signature', {}],
      ['a truncated signature', { 'x-hub-signature-256': sign(webhookSecret, body).slice(0, 20) }],
    ];
    for (const [what, headers, raw] of refusals) {
      const res = await deliver(headers, raw);
      assert.equal(res.status, 401, what);
      assert.deepEqual(
        await res.json(),
        { error: 'the x-hub-signature-256 header does not match the body' },
        what,
      );
    }
    const get = await h.request('/function/webhook');
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal((await errorOf(get)).code, 'method_not_allowed');
  });

  test('form-page: GET shows the form; a urlencoded POST greets, HTML-escaped', async () => {
    const page = await h.request('/function/form-page');
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await page.text();
    assert.match(html, /<form method="post">/);
    assert.doesNotMatch(html, /id="greeting"/);
    const posted = await h.request('/function/form-page', {
      method: 'POST',
      body: new URLSearchParams({ name: 'Ada <b>&' }),
    });
    assert.equal(posted.status, 200);
    assert.match(await posted.text(), /<p id="greeting">Hello, Ada &#60;b&#62;&#38;!<\/p>/);
  });

  test('form-page in Chromium: the form posts back to itself (same origin) and the greeting shows', async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    });
    try {
      const page = await browser.newPage();
      const url = `http://127.0.0.1:${port}/function/form-page`;
      const first = await page.goto(url);
      assert.equal(first?.status(), 200);
      await page.fill('input[name=name]', 'Grace');
      const [post] = await Promise.all([page.waitForNavigation(), page.click('button')]);
      assert.equal(post?.status(), 200);
      assert.equal(post?.request().method(), 'POST');
      assert.equal(
        await post?.request().headerValue('origin'),
        `http://127.0.0.1:${port}`,
        'a same-origin form post carries the gateway’s own origin',
      );
      assert.equal(page.url(), url);
      assert.equal(await page.textContent('#greeting'), 'Hello, Grace!');
    } finally {
      await browser.close();
    }
  });
});
