// Starts proxy-child.ts (a minimal node:http proxy to one container) and stops it.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./proxy-child.ts', import.meta.url));

export interface MinimalProxy {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startProxy(socketPath: string): Promise<MinimalProxy> {
  const child = fork(CHILD, [socketPath], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let timer: NodeJS.Timeout | undefined;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('the minimal proxy did not start within 30 s')), 30_000);
      child.once('message', (m) => resolve(m as number));
      child.once('exit', (code) => reject(new Error(`the minimal proxy exited with code ${code}`)));
    });
    return {
      port,
      pid: child.pid!,
      stop: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill();
        }),
    };
  } catch (err) {
    child.kill();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
