// Hostile uploads to PUT /functions/:name/source: archives whose entries escape the folder (`..`, an
// absolute path), links (symbolic to /etc, hard), devices, FIFOs, setuid files, a gzip bomb, too many
// files, an oversized body, a duplicate entry, garbage; no token, a page of another site. Each is
// refused with its code, and nothing is written: the functions directory holds exactly what it held
// (no folder, no staging dot-folder), nothing appears outside it, and the deployed function still answers.
import assert from 'node:assert/strict';
import { lstat, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { errorOf, fn, startHarness, type Harness } from '../helpers/harness.ts';

type Header = {
  name: string;
  type?: string;
  mode?: number;
  linkname?: string;
  size?: number;
  devmajor?: number;
  devminor?: number;
};
const tarStream = createRequire(import.meta.url)('tar-stream') as {
  pack(): NodeJS.ReadableStream & {
    entry(h: Header, body?: Buffer | string): void;
    finalize(): void;
  };
};

/** A tar of these entries, exactly as given (the packer does not sanitise names). */
async function tar(entries: Array<[Header, (Buffer | string)?]>): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => pack.on('end', r));
  for (const [h, body] of entries) pack.entry(h, body);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
const MANIFEST: [Header, string] = [{ name: 'function.yaml' }, 'version: "9"\n'];
const HANDLER: [Header, string] = [{ name: 'index.js' }, 'export default async () => "pwned";\n'];
const TOKEN = 'deploy-admin-token';

describe('security: remote deploy', () => {
  let h: Harness;
  const put = (
    name: string,
    body: Buffer,
    headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
  ) =>
    h.request(`/functions/${name}/source`, { method: 'PUT', body: new Uint8Array(body), headers });
  /** Refused with `status` and `code`; nothing written anywhere; the deployed function unchanged. */
  async function refused(
    body: Buffer,
    status: number,
    code: string,
    message?: RegExp,
    name = 'victim',
  ): Promise<void> {
    const res = await put(name, body);
    assert.equal(res.status, status);
    const e = await errorOf(res);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    assert.deepEqual(
      await readdir(h.functionsDir),
      ['victim'],
      'no folder and no staging left in the functions directory',
    );
    assert.deepEqual(
      (await readdir(join(h.functionsDir, 'victim'))).sort(),
      ['function.yaml', 'index.js'],
      'the deployed folder untouched',
    );
    const still = await h.request('/functions/victim/invoke', { method: 'POST', body: '{}' });
    assert.equal(await still.json(), 'original');
  }

  before(async () => {
    h = await startHarness(
      { victim: fn('export default async () => "original"') },
      { events: { embedded_redis: false } },
      { adminToken: TOKEN },
    );
  });
  after(async () => {
    await h?.close();
  });

  test('entries that escape the folder: ../ and an absolute path', async () => {
    await refused(
      await tar([MANIFEST, HANDLER, [{ name: '../../escaped.js' }, 'x']]),
      400,
      'invalid_request',
      /escapes the folder/,
    );
    await refused(
      await tar([MANIFEST, HANDLER, [{ name: 'lib/../../escaped.js' }, 'x']]),
      400,
      'invalid_request',
      /escapes the folder/,
    );
    await refused(
      await tar([MANIFEST, HANDLER, [{ name: '/tmp/titan-abs-escape.js' }, 'x']]),
      400,
      'invalid_request',
      /absolute path/,
    );
    await assert.rejects(
      lstat(join(h.functionsDir, '..', 'escaped.js')),
      'nothing written beside the functions directory',
    );
    await assert.rejects(lstat(join(h.dir, 'escaped.js')));
    await assert.rejects(lstat('/tmp/titan-abs-escape.js'));
  });

  test('links, devices, FIFOs and setuid files', async () => {
    await refused(
      await tar([MANIFEST, [{ name: 'index.js', type: 'symlink', linkname: '/etc/passwd' }]]),
      400,
      'invalid_request',
      /is a symlink/,
    );
    await refused(
      await tar([
        MANIFEST,
        [{ name: 'etc', type: 'symlink', linkname: '/etc' }],
        [{ name: 'etc/cron.d/x' }, 'x'],
      ]),
      400,
      'invalid_request',
      /symlink/,
    );
    await refused(
      await tar([
        MANIFEST,
        HANDLER,
        [{ name: 'hard.js', type: 'link', linkname: 'function.yaml' }],
      ]),
      400,
      'invalid_request',
      /is a link/,
    );
    await refused(
      await tar([
        MANIFEST,
        HANDLER,
        [{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }],
      ]),
      400,
      'invalid_request',
      /character-device/,
    );
    await refused(
      await tar([
        MANIFEST,
        HANDLER,
        [{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }],
      ]),
      400,
      'invalid_request',
      /block-device/,
    );
    await refused(
      await tar([MANIFEST, HANDLER, [{ name: 'pipe', type: 'fifo' }]]),
      400,
      'invalid_request',
      /fifo/,
    );
    await refused(
      await tar([MANIFEST, [{ name: 'index.js', mode: 0o4755 }, 'export default async () => 1;']]),
      400,
      'invalid_request',
      /setuid or setgid/,
    );
    await refused(
      await tar([MANIFEST, [{ name: 'index.js', mode: 0o2755 }, 'export default async () => 1;']]),
      400,
      'invalid_request',
      /setuid or setgid/,
    );
  });

  test('a gzip bomb, too many files, an oversized body, a duplicate entry, garbage', async () => {
    // 150 MiB of zeros in one file: about 150 KiB gzipped, over the 100 MiB unpacked limit.
    const bomb = gzipSync(
      await tar([
        MANIFEST,
        HANDLER,
        [{ name: 'zeros.bin', size: 150 * 1024 * 1024 }, Buffer.alloc(150 * 1024 * 1024)],
      ]),
    );
    assert.ok(bomb.length < 1024 * 1024);
    await refused(bomb, 413, 'payload_too_large', /unpacks to more than/);
    const many = await tar([
      MANIFEST,
      HANDLER,
      ...Array.from({ length: 10_001 }, (_, i) => [{ name: `f/${i}` }, ''] as [Header, string]),
    ]);
    await refused(gzipSync(many), 413, 'payload_too_large', /more than 10000 files/);
    await refused(
      Buffer.alloc(21 * 1024 * 1024, 1),
      413,
      'payload_too_large',
      /at most 20971520 bytes/,
    );
    await refused(
      await tar([
        MANIFEST,
        HANDLER,
        [{ name: 'index.js' }, 'export default async () => "second";'],
      ]),
      400,
      'invalid_request',
      /appears twice/,
    );
    await refused(
      Buffer.from('this is not an archive at all'.repeat(40)),
      400,
      'invalid_request',
      /not a valid tar archive/,
    );
    await refused(
      Buffer.from([0x1f, 0x8b, 1, 2, 3]),
      400,
      'invalid_request',
      /not a valid gzip stream/,
    );
  });

  test('a manifest naming another function, an invalid name, an invalid manifest', async () => {
    await refused(
      await tar([[{ name: 'function.yaml' }, 'name: victim\n'], HANDLER]),
      400,
      'invalid_request',
      /names the function 'victim', not 'squatter'/,
      'squatter',
    );
    await refused(
      await tar([[{ name: 'function.yaml' }, 'bogus: 1\n'], HANDLER]),
      400,
      'invalid_manifest',
      /bogus: unknown key/,
    );
    const res = await put('..', await tar([MANIFEST, HANDLER]));
    assert.ok([400, 404].includes(res.status));
    assert.equal((await put('Bad%20Name', await tar([MANIFEST, HANDLER]))).status, 400);
  });

  test('no token is 401 and a page of another site is 403, before the body is read; DELETE too', async () => {
    const body = await tar([MANIFEST, HANDLER]);
    const none = await put('victim', body, {});
    assert.equal(none.status, 401);
    assert.equal((await put('victim', body, { authorization: 'Bearer wrong' })).status, 401);
    const page = await put('victim', body, {
      authorization: `Bearer ${TOKEN}`,
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
    });
    assert.equal(page.status, 403);
    assert.equal((await h.request('/functions/victim', { method: 'DELETE' })).status, 401);
    assert.equal(
      (
        await h.request('/functions/victim', {
          method: 'DELETE',
          headers: {
            authorization: `Bearer ${TOKEN}`,
            origin: 'https://evil.example',
            'sec-fetch-site': 'cross-site',
          },
        })
      ).status,
      403,
    );
    assert.equal(
      (await h.request('/functions/victim')).status,
      200,
      'GET /functions/:name stays as it was',
    );
    await refused(await tar([]), 400, 'invalid_request', /holds no files/);
  });
});
