// Unit tests for the Redis Cluster and Sentinel forms of REDIS_URL (gateway/events/redis.ts), the
// hostile ones included: whatever is wrong, invalid_config that says where, never the password.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRedisUrl, redactUrl } from '../../gateway/events/redis.ts';
import { Keys } from '../../gateway/events/keys.ts';
import * as v from 'valibot';
import { validateTopic } from '../../gateway/events/publish-rules.ts';
import { ConfigSchema, defaultConfig } from '../../runtime/config.ts';
import { NAME_PATTERN } from '../../runtime/manifest.ts';

const invalid = (url: string, why: RegExp) =>
  assert.throws(
    () => parseRedisUrl(url),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'invalid_config');
      assert.match(e.message, why);
      assert.doesNotMatch(e.message, /hunter2|s3cret/, 'the password never appears');
      return true;
    },
    url,
  );

describe('cluster and sentinel urls', () => {
  test('cluster seed nodes, TLS, credentials', () => {
    assert.deepEqual(parseRedisUrl('redis-cluster://h1:7000,10.0.0.2:7001,[::1]'), {
      kind: 'cluster',
      nodes: [
        { host: 'h1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 6379 },
      ],
      options: {},
    });
    assert.deepEqual(parseRedisUrl('rediss-cluster://app:s%40cret@h1:7000'), {
      kind: 'cluster',
      nodes: [{ host: 'h1', port: 7000 }],
      options: { tls: {}, username: 'app', password: 's@cret' },
    });
  });

  test('sentinels and the primary name, with a database', () => {
    assert.deepEqual(parseRedisUrl('redis-sentinel://:pw@s1,s2:26380/mymaster/2'), {
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'mymaster',
      options: { password: 'pw', db: 2 },
    });
    // the one-node forms are unchanged
    assert.equal(parseRedisUrl('redis://h:1').kind, 'single');
    assert.equal(parseRedisUrl('unix:///tmp/r.sock').kind, 'single');
  });

  test('hostile and broken urls: a clear invalid_config, never the password', () => {
    invalid('redis-cluster://', /names no node/);
    invalid('redis-cluster://:hunter2@', /names no node/);
    invalid('redis-cluster://h1:7000,,h2:7001', /node 2: expected host/);
    invalid('redis-cluster://h1:99999', /node 1: .*port/);
    invalid('redis-cluster://h1:0', /node 1: the port must be from 1 to 65535/);
    invalid('redis-cluster://h1:7000/1', /takes no path/);
    invalid('redis-cluster://h1:7000,h1:7000', /named twice/);
    invalid('redis-cluster://user:hunter2@h1:70x0', /node 1: expected host/);
    // a password with no '@' after it is a host, and a bad one: never echoed
    invalid('redis-cluster://hunter2:x', /node 1/);
    invalid('redis-cluster://h1:7000,evil host:1', /node 2: expected host/);
    invalid('redis-cluster://h1:7000,h2:7001%0d%0aCONFIG', /node 2/);
    invalid('redis-cluster://:hunter2%zz@h1', /percent-encoding/);
    invalid(
      `redis-cluster://${Array.from({ length: 17 }, (_, i) => `h${i}:1`).join(',')}`,
      /17 nodes in one url; at most 16/,
    );
    invalid('redis-sentinel://s1:26379', /primary's name/);
    invalid('redis-sentinel://s1:26379/', /primary's name/);
    invalid('redis-sentinel://:hunter2@s1/bad name', /primary's name/);
    invalid('redis-sentinel://s1/m/2/3', /primary's name/);
    invalid('redis-sentinel://s1/m/x', /database/);
    invalid('redis-clusterx://h1', /expected redis:\/\/host:port, .*\(got redis-clusterx\)$/);
  });

  test('redactUrl hides the password of every form, up to its last @', () => {
    assert.equal(
      redactUrl('redis-cluster://app:hunter2@h1:1,h2:2'),
      'redis-cluster://app:***@h1:1,h2:2',
    );
    assert.equal(redactUrl('redis-sentinel://:p@ss@s1/m'), 'redis-sentinel://:***@s1/m');
    assert.equal(redactUrl('redis://hunter2@h:1'), 'redis://***@h:1');
    assert.equal(redactUrl('unix:///tmp/r.sock'), 'unix:///tmp/r.sock');
  });
});

describe('key layout on a cluster', () => {
  const cfg = { ...defaultConfig('/tmp').events, keyPrefix: 'p:' };

  test("a function's queue and attempts share its hash tag; one node keeps today's names", () => {
    const one = new Keys(cfg);
    assert.equal(one.queue('orders'), 'p:titan.q.orders');
    assert.equal(one.attempts('orders', '1-0'), 'p:titan.attempts:orders:1-0');
    const tagged = new Keys(cfg);
    tagged.tagged = true;
    assert.equal(tagged.queue('orders'), 'p:titan.q.{orders}');
    assert.equal(tagged.attempts('orders', '1-0'), 'p:titan.attempts:{orders}:1-0');
    // topics, results, DLQ and async records carry no tag: they spread over the slots
    assert.equal(tagged.topic('orders'), 'p:orders');
    assert.equal(tagged.results, 'p:titan.results');
    assert.equal(tagged.invocation('x'), 'p:titan.invocation:x');
  });
});

describe('hash tags from hostile names', () => {
  test("no function name, topic or configured key part can carry a '{' or '}' into a key", () => {
    // With a brace a name could pick the slot of another function's keys, or split its own queue
    // and attempts counters over two slots (their MULTI would fail CROSSSLOT).
    for (const name of ['{victim}', 'a{victim}', 'victim}', 'x{']) {
      assert.equal(NAME_PATTERN.test(name), false, `function name ${name}`);
      assert.throws(() => validateTopic(name), { code: 'invalid_topic' }, `topic ${name}`);
    }
    for (const [key, value] of [
      ['key_prefix', '{p}:'],
      ['key_prefix', 'a{'],
      ['queue_prefix', 'titan.q.{x}'],
      ['results_stream', 'titan.{r}'],
      ['dlq_stream', 'titan.dlq}'],
    ] as const) {
      const res = v.safeParse(ConfigSchema, { events: { [key]: value } });
      assert.equal(res.success, false, `${key}: ${value}`);
      assert.match(
        JSON.stringify(res.issues?.map((i) => i.message)),
        /must not contain '\{' or '\}'/,
      );
    }
  });
});
