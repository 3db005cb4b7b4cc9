// With REDIS_URL unset, `npm start` runs a private redis-server child: a unix socket and
// append-only data under the state directory, so events work out of the box.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export interface EmbeddedRedis {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedRedis(stateDir: string): Promise<EmbeddedRedis> {
  const dir = join(stateDir, 'redis');
  await mkdir(dir, { recursive: true });
  const socket = join(dir, 'redis.sock');
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--unixsocket',
      socket,
      '--unixsocketperm',
      '700',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--save',
      '',
      '--logfile',
      join(dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(err.message));
    child.once('exit', (code) => resolve(`redis-server exited with code ${code}`));
  });
  let failure: string | undefined;
  void exited.then((why) => (failure = why));
  const probe = new Redis({
    path: socket,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {}); // connection refused until the server is up: expected, polled below
  try {
    for (let waited = 0; ; waited += 50) {
      if (failure) throw new Error(failure);
      if (
        await probe.connect().then(
          () => probe.ping(),
          () => undefined,
        )
      )
        break;
      if (waited > 10_000) throw new Error(`redis-server did not answer on ${socket} within 10 s`);
      await sleep(50);
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    probe.disconnect();
  }
  return {
    url: `unix://${socket}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The Redis the event system uses: the URL given (the caller's REDIS_URL or events.redis_url), or
 * with none a private redis-server when embedded_redis allows; or why there is none.
 */
export async function resolveRedisUrl(
  given: string,
  embedded: boolean,
  stateDir: string,
  log: (msg: string, fields?: Record<string, unknown>) => void,
): Promise<{ url?: string; embedded?: EmbeddedRedis; reason?: string }> {
  if (given) return { url: given };
  if (!embedded)
    return { reason: 'triggers are off: REDIS_URL is unset and events.embedded_redis is false' };
  try {
    const server = await startEmbeddedRedis(stateDir);
    log('started a private redis-server for events', { redis: server.url });
    return { url: server.url, embedded: server };
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).message.includes('ENOENT');
    return {
      reason: missing
        ? 'triggers are off: REDIS_URL is unset and redis-server is not on the PATH (install redis-server or set REDIS_URL)'
        : `triggers are off: the private redis-server did not start (${(err as Error).message})`,
    };
  }
}
