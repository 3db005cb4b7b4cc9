// Unit tests for `/function/<name>`'s pure parts: the request target and the event
// (gateway/http-function/request.ts), the answer check (answer.ts), the page rule (gateway/pages.ts)
// and the manifest's `http.methods`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';
import { resolveManifest } from '../../runtime/manifest.ts';
import { TokenCheck } from '../../gateway/auth.ts';
import { errorAnswer } from '../../gateway/http-errors.ts';
import { MethodNotAllowedError } from '../../runtime/errors.ts';
import { MAX_ANSWER_HEADERS, readAnswer } from '../../gateway/http-function/answer.ts';
import {
  eventBody,
  eventHeaders,
  eventJson,
  needsNormalising,
  parseFunctionUrl,
  parseQuery,
} from '../../gateway/http-function/request.ts';
import { mayInvoke, pageStarted } from '../../gateway/pages.ts';

const noToken = { isAdminToken: () => false };

/** Runs fn, asserts it throws a TitanError with `code`, returns the message. */
function thrown(fn: () => unknown, code: string): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TitanError, `expected TitanError, got ${e}`);
    assert.equal(e.code, code);
    return e.message;
  }
  assert.fail(`expected ${code}`);
}

describe('the request target', () => {
  test('name, path (/ when none) and raw query', () => {
    assert.deepEqual(parseFunctionUrl('/function/echo'), { name: 'echo', path: '/', rawQuery: '' });
    assert.deepEqual(parseFunctionUrl('/function/echo/'), {
      name: 'echo',
      path: '/',
      rawQuery: '',
    });
    assert.deepEqual(parseFunctionUrl('/function/echo/a//b%2Fc?x=1?y#z'), {
      name: 'echo',
      path: '/a//b%2Fc',
      rawQuery: 'x=1?y#z',
    });
    assert.deepEqual(parseFunctionUrl('/function/echo?'), {
      name: 'echo',
      path: '/',
      rawQuery: '',
    });
    for (const url of [
      '/function/',
      '/function',
      '/functions/echo/invoke',
      '/function//x',
      'function/echo',
    ])
      assert.equal(parseFunctionUrl(url), undefined, url);
  });

  test('dot segments (also %2e) and backslashes need resolving; dots inside names do not', () => {
    for (const path of ['/..', '/.', '/a/../b', '/a/./b', '/%2e%2E/x', '/.%2e', '/a\\b'])
      assert.equal(needsNormalising(path), true, path);
    for (const path of ['/', '/a.b', '/...', '/..a', '/a/.hidden', '/%2e%2e%2e'])
      assert.equal(needsNormalising(path), false, path);
  });

  test('the query: + is a space, percent-decoding, repeated keys as arrays, __proto__ a key like any other', () => {
    const q = parseQuery('a=1&a=2&b=x+y&c=%E2%9C%93&d&=e&__proto__=p&f=%zz');
    assert.equal(Object.getPrototypeOf(q), null);
    assert.deepEqual(
      { ...q },
      { a: ['1', '2'], b: 'x y', c: '✓', d: '', '': 'e', ['__proto__']: 'p', f: '%zz' },
    );
    assert.deepEqual({ ...parseQuery('?a=1') }, { '?a': '1' }, 'a query starting with ? keeps it');
    assert.deepEqual({ ...parseQuery('') }, {});
  });
});

describe('the event', () => {
  test('headers: lower-case, joined, without hop-by-hop ones, those Connection names, cookies, and the admin token', () => {
    const lines = [
      'Host',
      'h',
      'X-A',
      '1',
      'x-a',
      '2',
      'Cookie',
      'c=1',
      'Connection',
      'keep-alive, X-Private',
      'X-Private',
      'p',
      'Transfer-Encoding',
      'chunked',
      'Upgrade',
      'h2c',
      'Proxy-Authorization',
      'Basic x',
      'Authorization',
      'Bearer t0ken',
    ];
    const isAdminToken = (a: string) => a === 'Bearer t0ken';
    assert.deepEqual({ ...eventHeaders(lines, { isAdminToken }) }, { host: 'h', 'x-a': '1, 2' });
    assert.deepEqual(
      { ...eventHeaders(['Authorization', 'Bearer mine'], { isAdminToken }) },
      { authorization: 'Bearer mine' },
    );
    assert.deepEqual(
      {
        ...eventHeaders(
          ['__proto__', 'p', 'Connection', 'close', 'Connection', 'x-b', 'X-B', 'gone'],
          { isAdminToken },
        ),
      },
      { ['__proto__']: 'p' },
    );
  });

  test('the body: UTF-8 stays text byte for byte (BOM, NUL), anything else is base64', () => {
    assert.deepEqual(eventBody(Buffer.from('\uFEFFa\u0000✓')), {
      body: '\uFEFFa\u0000✓',
      isBase64Encoded: false,
    });
    assert.deepEqual(eventBody(Buffer.from([0xff, 0x00])), { body: '/wA=', isBase64Encoded: true });
    assert.deepEqual(
      eventBody(Buffer.from([0xed, 0xa0, 0x80])),
      { body: '7aCA', isBase64Encoded: true },
      'an encoded surrogate is not UTF-8',
    );
    assert.deepEqual(eventBody(new Uint8Array(0)), { body: '', isBase64Encoded: false });
  });

  test('the whole event as JSON', () => {
    const json = eventJson({
      method: 'PATCH',
      target: { name: 'x', path: '/a', rawQuery: 'k=v' },
      headers: ['X', 'y'],
      body: Buffer.from('hi'),
      rules: noToken,
    });
    assert.deepEqual(JSON.parse(json), {
      method: 'PATCH',
      path: '/a',
      rawQuery: 'k=v',
      query: { k: 'v' },
      headers: { x: 'y' },
      body: 'hi',
      isBase64Encoded: false,
    });
  });
});

describe('the answer', () => {
  const read = (value: unknown) => readAnswer(JSON.stringify(value), 'fn');
  const bad = (value: unknown) => thrown(() => read(value), 'invalid_response');

  test('anything without statusCode is the 200 JSON answer, passed on as it is', () => {
    for (const text of [
      '{"a":1}',
      '[1,2]',
      'null',
      '"statusCode"',
      '{"nested":{"statusCode":500}}',
      '{"a":"\\u00e9"}',
    ]) {
      assert.deepEqual(
        readAnswer(text, 'fn'),
        {
          status: 200,
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(text)),
          },
          body: text,
        },
        text,
      );
    }
  });

  test('an answer: status, headers lower-cased and lists joined, default content types, the gateway’s content-length', () => {
    const a = read({ statusCode: 201, headers: { 'X-L': ['a', 'b'], Location: '/x' }, body: 'é' });
    assert.deepEqual(
      [a.status, { ...a.headers }, a.body],
      [
        201,
        {
          'x-l': 'a, b',
          location: '/x',
          'content-type': 'text/plain; charset=utf-8',
          'content-length': '2',
        },
        'é',
      ],
    );
    const bin = read({ statusCode: 200, body: '/wA=', isBase64Encoded: true });
    assert.deepEqual(
      [bin.headers['content-type'], bin.body],
      ['application/octet-stream', Buffer.from([0xff, 0])],
    );
    assert.deepEqual(
      read({ statusCode: 200, body: 'AQ', isBase64Encoded: true }).body,
      Buffer.from([1]),
      'unpadded base64',
    );
    const empty = read({ statusCode: 302, headers: { location: '/y' } });
    assert.deepEqual(
      [{ ...empty.headers }, empty.body],
      [{ location: '/y', 'content-length': '0' }, ''],
    );
    assert.deepEqual({ ...read({ statusCode: 204 }).headers }, {}, '204: no content-length');
    assert.deepEqual({ ...read({ statusCode: 304, body: '' }).headers }, {});
    assert.deepEqual(
      { ...read({ statusCode: 205, body: null }).headers },
      { 'content-length': '0' },
    );
    // An escaped key is still the key: read as an answer.
    assert.equal(readAnswer('{"status\\u0043ode":418}', 'fn').status, 418);
  });

  test('every malformed answer is invalid_response naming the problem', () => {
    assert.match(bad({ statusCode: 150 }), /statusCode 150 is an interim \(1xx\) status/);
    assert.match(bad({ statusCode: 99 }), /from 200 to 599 \(got 99\)/);
    assert.match(bad({ statusCode: '200' }), /\(got "200"\)/);
    assert.match(
      bad({ statusCode: 200, headers: { 'x-a': 'a\rb' } }),
      /character a header may not hold/,
    );
    assert.match(
      bad({ statusCode: 200, headers: { 'x-a': ['ok', 'a\nb'] } }),
      /character a header may not hold/,
    );
    assert.match(
      bad({ statusCode: 200, headers: { 'x(a)': '1' } }),
      /is not a valid HTTP field name/,
    );
    for (const name of [
      'Connection',
      'keep-alive',
      'TE',
      'trailer',
      'x-cold-start',
      'alt-svc',
      'strict-transport-security',
      'clear-site-data',
      'access-control-max-age',
      'set-cookie',
      'Service-Worker-Allowed',
    ]) {
      assert.match(
        bad({ statusCode: 200, headers: { [name]: 'x' } }),
        new RegExp(`header "${name}" is the gateway's to set`),
        name,
      );
    }
    assert.match(
      bad({
        statusCode: 200,
        headers: Object.fromEntries(
          Array.from({ length: MAX_ANSWER_HEADERS + 1 }, (_, i) => [`h${i}`, 'v']),
        ),
      }),
      /101 headers; at most 100/,
    );
    assert.match(bad({ statusCode: 304, body: 'x' }), /a 304 answer has no body \(got 1 bytes\)/);
    assert.match(
      bad({ statusCode: 200, body: 'QQ=', isBase64Encoded: true }),
      /body is not base64/,
    );
    assert.match(
      bad({ statusCode: 200, body: 'QUJD\nREVG', isBase64Encoded: true }),
      /body is not base64/,
    );
    assert.match(bad({ statusCode: 200, body: 'A', isBase64Encoded: true }), /body is not base64/);
    assert.match(bad({ statusCode: 200, cookies: [] }), /unknown key "cookies"/);
    assert.match(
      thrown(() => readAnswer('{"statusCode":200', 'fn'), 'invalid_response'),
      /^function 'fn' answered an invalid HTTP answer: its JSON does not parse/,
    );
  });
});

describe('405 and the page rule', () => {
  test('method_not_allowed is 405 with Allow', () => {
    const a = errorAnswer(new MethodNotAllowedError('fn', 'PUT', ['GET', 'HEAD']));
    assert.deepEqual(
      [a.status, a.headers.allow, JSON.parse(a.body).error.code],
      [405, 'GET, HEAD', 'method_not_allowed'],
    );
  });

  test('a page started a request: an unlisted Origin, or Sec-Fetch-Site other than none; never a listed origin', () => {
    const marks = (h: Record<string, string>) => (name: string) => h[name];
    assert.equal(pageStarted(marks({}), undefined), false, 'curl');
    assert.equal(
      pageStarted(marks({ 'sec-fetch-site': 'none' }), undefined),
      false,
      'a typed address',
    );
    assert.equal(
      pageStarted(marks({ origin: 'http://127.0.0.1:8080' }), undefined),
      true,
      "the gateway's own origin",
    );
    for (const site of ['same-origin', 'same-site', 'cross-site'])
      assert.equal(pageStarted(marks({ 'sec-fetch-site': site }), undefined), true, site);
    assert.equal(
      pageStarted(marks({ origin: 'http://app.test' }), 'http://app.test'),
      false,
      'a listed origin',
    );
  });

  test('pages may invoke open functions only; the token rules follow', () => {
    const auth = new TokenCheck('t');
    const open = { name: 'o', auth: 'none' as const, fs: { mounts: [], masks: [] } };
    const mounting = {
      ...open,
      name: 'm',
      fs: {
        mounts: [{ hostPath: '/x', containerPath: '/x', root: '/', kind: 'directory' as const }],
        masks: [],
      },
    };
    const tokened = { ...open, name: 't', auth: 'token' as const };
    mayInvoke(auth, open, undefined, true);
    assert.match(
      thrown(() => mayInvoke(auth, mounting, 'Bearer t', true), 'forbidden_origin'),
      /function 'm' mounts host paths, so it answers no request a web page started/,
    );
    assert.match(
      thrown(() => mayInvoke(auth, tokened, 'Bearer t', true), 'forbidden_origin'),
      /function 't' needs the admin token/,
    );
    mayInvoke(auth, mounting, 'Bearer t', false);
    thrown(() => mayInvoke(auth, mounting, undefined, false), 'unauthorized');
  });
});

describe('the manifest key http.methods', () => {
  const resolve = (raw: unknown) =>
    resolveManifest(raw, {
      dir: '/srv/fns/hello',
      folderName: 'hello',
      config: defaultConfig('/srv'),
    });

  test('methods in any case, in a fixed order, each once; GET brings HEAD; absent is every method', () => {
    assert.deepEqual(resolve({ http: { methods: ['post', 'GET', 'get', 'Delete'] } }).http, {
      methods: ['GET', 'HEAD', 'POST', 'DELETE'],
    });
    assert.deepEqual(resolve({ http: { methods: ['OPTIONS'] } }).http, { methods: ['OPTIONS'] });
    assert.equal(resolve({}).http, undefined);
    assert.equal(resolve({ http: null }).http, undefined);
  });

  test('an unknown method, an empty list or an unknown key is invalid_manifest, saying why', () => {
    assert.match(
      thrown(() => resolve({ http: { methods: ['GET', 'TRACE'] } }), 'invalid_manifest'),
      /http\.methods\[1\]: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS \(got "TRACE"\)/,
    );
    assert.match(
      thrown(() => resolve({ http: { methods: [] } }), 'invalid_manifest'),
      /http\.methods: must list at least one method/,
    );
    assert.match(
      thrown(() => resolve({ http: { paths: ['/'] } }), 'invalid_manifest'),
      /http.*paths/,
    );
  });
});
