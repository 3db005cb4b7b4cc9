// What a publisher controls reaches the fan-out script only as values: an event whose fields look
// like the script's own markers (@N@, Lua, a field count) is queued byte for byte, with no effect
// on other entries of its batch, and a queue key is never taken from the event.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { defaultConfig } from '../../runtime/config.ts';
import { fanOut } from '../../gateway/events/fan-out.ts';
import { Keys } from '../../gateway/events/keys.ts';
import {
  deletePrefix,
  readStream,
  redisClient,
  sharedRedisUrl,
  uniquePrefix,
} from '../helpers/events.ts';

let redis: Redis;
const prefix = uniquePrefix();
const cfg = { ...defaultConfig('/tmp').events, keyPrefix: prefix };
const keys = new Keys(cfg);

before(async () => {
  redis = redisClient(await sharedRedisUrl());
});
after(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

test('hostile field values are queued as they are, and the batch around them is intact', async () => {
  const topic = keys.topic('hostile');
  await redis.call('XGROUP', 'CREATE', topic, cfg.group, '$', 'MKSTREAM');
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await redis.xadd(topic, '*', 'type', 't', 'data', '{}'))!);
  await redis.xreadgroup('GROUP', cfg.group, 'c', 'COUNT', 3, 'STREAMS', topic, '>');
  const hostile = {
    kind: 'event',
    topic: 'hostile',
    event_id: ids[1]!,
    // a count where the script expects one, its overload marker, Lua, a reserved key name
    type: '-1',
    data: JSON.stringify({
      x: '@N@',
      lua: "redis.call('FLUSHALL')",
      key: `${prefix}titan.q.other`,
    }),
    source: '3',
    correlation_id: '',
  };
  await fanOut(
    redis,
    { topic, dlq: keys.dlq, queue: keys.queue },
    { group: cfg.group, queueMaxlen: 100, dlqMaxlen: 100 },
    [
      { id: ids[0]!, fns: ['f'], job: { kind: 'event', event_id: ids[0]!, data: '1' } },
      { id: ids[1]!, fns: ['f'], job: hostile },
      { id: ids[2]!, fns: ['f'], job: { kind: 'event', event_id: ids[2]!, data: '3' } },
    ],
  );
  const q = await readStream(redis, keys.queue('f'));
  assert.deepEqual(
    q.map((e) => e.fields),
    [
      { kind: 'event', event_id: ids[0]!, data: '1' },
      hostile,
      { kind: 'event', event_id: ids[2]!, data: '3' },
    ],
  );
  assert.equal(await redis.exists(keys.queue('other')), 0);
  assert.equal(await redis.exists(keys.dlq), 0);
});
