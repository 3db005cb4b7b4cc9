// Unit tests for gateway/events/redis.ts: the Redis URL forms the runtime accepts, and a clear error for the rest.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redisOptionsFromUrl } from '../../gateway/events/redis.ts';

describe('redisOptionsFromUrl', () => {
  test('tcp, TLS and unix socket forms', () => {
    assert.deepEqual(redisOptionsFromUrl('redis://:s%40cret@127.0.0.1:6380/2'), {
      host: '127.0.0.1',
      port: 6380,
      password: 's@cret',
      db: 2,
    });
    assert.deepEqual(redisOptionsFromUrl('rediss://cache.local'), {
      tls: {},
      host: 'cache.local',
      port: 6379,
    });
    assert.deepEqual(redisOptionsFromUrl('unix:///run/redis.sock'), { path: '/run/redis.sock' });
    assert.deepEqual(redisOptionsFromUrl('/run/redis.sock'), { path: '/run/redis.sock' });
  });

  test('another scheme, or no URL at all, is invalid_config naming the accepted forms and never the secret', () => {
    for (const [url, got] of [
      ['redis+unix:///tmp/r.sock', 'redis\\+unix'],
      ['http://u:hunter2@h:1', 'http'],
      ['not a url', 'unparseable'],
    ]) {
      assert.throws(
        () => redisOptionsFromUrl(url!),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'invalid_config');
          assert.match(e.message, new RegExp(`expected redis://host:port, .* \\(got ${got}\\)$`));
          assert.doesNotMatch(e.message, /hunter2/);
          return true;
        },
      );
    }
  });
});
