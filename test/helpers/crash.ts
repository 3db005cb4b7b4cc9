// A gateway that can crash: a harness gateway in a child process (crashing-gateway.ts), so a test
// can SIGKILL it and see what the next gateway on the same directory makes of its leftovers.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FunctionFiles } from './harness.ts';

export interface CrashableGateway {
  /** SIGKILL: nothing is cleaned up, as after a crash or an OOM kill of the gateway */
  kill(): Promise<void>;
}

/**
 * A harness gateway on `dir` in a child process, resolved once its functions are deployed. Start a
 * harness on the same `dir` afterwards to play the gateway that comes up after the crash.
 */
export async function startCrashableGateway(
  dir: string,
  functions: Record<string, FunctionFiles>,
  readyMs = 60_000,
): Promise<CrashableGateway> {
  const script = fileURLToPath(new URL('./crashing-gateway.ts', import.meta.url));
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', script, dir, JSON.stringify(functions)],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the child gateway was not ready after ${readyMs} ms`)),
        readyMs,
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('ready\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `the child gateway exited before it was ready (code ${code}, signal ${signal})`,
          ),
        );
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  return {
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
