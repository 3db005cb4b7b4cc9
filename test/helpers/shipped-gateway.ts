// The gateway as shipped, in a child process: `gateway/main.ts` with its own logger (level info,
// buffered output on stdout), on a private directory. For tests of what only the real entry point
// does: the access log, a clean stop on SIGTERM, the compiled start.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newHarnessDir, type FunctionFiles } from './harness.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ShippedGateway {
  url: string;
  /** everything it wrote to stdout so far */
  stdout(): string;
  /** send `signal`; resolves with the exit code once the process is gone */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `command` (default: main.ts under tsx) on a config of its own: its functions, port 0, no
 * Redis (the shared one is other tests'). Resolves once it logged `gateway listening`.
 */
export async function startShippedGateway(
  functions: Record<string, FunctionFiles>,
  command: string[] = ['--import', 'tsx', 'gateway/main.ts'],
  readyMs = 60_000,
): Promise<ShippedGateway> {
  const dir = await newHarnessDir();
  for (const [folder, files] of Object.entries(functions)) {
    await mkdir(join(dir, 'functions', folder), { recursive: true });
    for (const [file, text] of Object.entries(files))
      await writeFile(join(dir, 'functions', folder, file), text);
  }
  const config = join(dir, 'runtime.yaml');
  await writeFile(
    config,
    `functions_dir: ${join(dir, 'functions')}\nstate_dir: ${join(dir, 's')}\ngateway:\n  port: 0\nevents:\n  embedded_redis: false\n`,
  );
  const { REDIS_URL: _r, TITAN_LOG_LEVEL: _l, ...env } = process.env;
  const child: ChildProcess = spawn(process.execPath, command, {
    cwd: ROOT,
    env: { ...env, TITAN_CONFIG: config },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const cleanUp = () => rm(dir, { recursive: true, force: true });
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`not listening after ${readyMs} ms; stdout: ${out}; stderr: ${err}`)),
        readyMs,
      );
      const check = () => {
        const m = /"url":"http:\/\/[^:]+:(\d+)".*"msg":"gateway listening"/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on('data', check);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(
          new Error(
            `the gateway exited with code ${code} before listening; stdout: ${out}; stderr: ${err}`,
          ),
        );
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    await cleanUp();
    throw e;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stdout: () => out,
    stop: async (signal = 'SIGTERM') => {
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(timer);
      await cleanUp();
      return code;
    },
  };
}
