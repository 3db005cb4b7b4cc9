// Starts proxy-child.ts (a minimal node:http proxy) and a container of its own that dials in to it, and stops both.
import { fork } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './context.ts';
import { DIAL_IN_LIMITS, makeSocketDir, rawPlacement, runRawContainer } from './raw-container.ts';

const CHILD = fileURLToPath(new URL('./proxy-child.ts', import.meta.url));

export interface MinimalProxy {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startProxy(ctx: BenchContext, fnDir: string): Promise<MinimalProxy> {
  const at = await rawPlacement(ctx, fnDir);
  await makeSocketDir(at.socketDir);
  const child = fork(CHILD, [at.socketPath, JSON.stringify(DIAL_IN_LIMITS)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stopChild = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill();
    });
  let timer: NodeJS.Timeout | undefined;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error('the minimal proxy did not start within 30 s')),
        30_000,
      );
      child.once('message', (m) => resolve(m as number));
      child.once('exit', (code) => reject(new Error(`the minimal proxy exited with code ${code}`)));
    });
    // Ready once a call went through the proxy to the container (the call waits for its dial-in).
    const container = await runRawContainer(ctx, at, async () => {
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      if (res.status !== 200)
        throw new Error(
          `the minimal proxy answered ${res.status}: ${(await res.text()).slice(0, 200)}`,
        );
    });
    return {
      port,
      pid: child.pid!,
      stop: async () => {
        try {
          await stopChild();
        } finally {
          await container.remove();
        }
      },
    };
  } catch (err) {
    await stopChild();
    await rm(at.socketDir, { recursive: true, force: true });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
