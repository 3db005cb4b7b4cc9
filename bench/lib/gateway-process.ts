// Starts gateway-child.ts and talks to it over IPC: its port, its memory, a clean close. As shipped:
// compiled as `npm start` compiles the gateway (scripts/build.js, plain node, source maps), its access
// log at info on stdout, which goes to a file, as a service manager would take it.
// TITAN_BENCH_RUNNER=tsx runs the sources under tsx instead, for A/B runs.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RuntimeConfig } from '../../runtime/config.ts';
import { build, ROOT } from '../../scripts/build.js';
import type { FromChild, MemoryFigures, ToChild } from './gateway-child.ts';

const SOURCE = fileURLToPath(new URL('./gateway-child.ts', import.meta.url));

/**
 * Node's flags as `npm start` passes them (package.json's start script: `node <flags> bin/start.js`),
 * or TITAN_BENCH_NODE_FLAGS instead, for A/B runs of V8 settings.
 */
export function shippedNodeFlags(): string[] {
  const override = process.env.TITAN_BENCH_NODE_FLAGS;
  if (override !== undefined) return override.split(/\s+/).filter(Boolean);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(1, words.indexOf('bin/start.js')).filter((w) => w.startsWith('--'));
}

/** The child to fork and how: the compiled bundle (built now, from the current sources) or the sources under tsx. */
async function childProgram(): Promise<{ file: string; execArgv: string[] }> {
  if (process.env.TITAN_BENCH_RUNNER === 'tsx')
    return { file: SOURCE, execArgv: ['--import', 'tsx'] };
  const outdir = join(ROOT, 'dist', 'bench');
  await build({ entries: { 'gateway-child': SOURCE }, outdir });
  return { file: join(outdir, 'gateway-child.js'), execArgv: shippedNodeFlags() };
}

export interface GatewayProcessOptions {
  config: RuntimeConfig;
  dockerHost: string;
  /** wins over the config; unset: the gateway's own rule (REDIS_URL, then a private redis-server) */
  redisUrl?: string;
  /** run under `node --cpu-prof`, writing the profile here when it exits */
  cpuProfDir?: string;
  startTimeoutMs?: number;
}

export class GatewayProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly redisUrl: string | undefined,
    readonly triggers: string,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(opts: GatewayProcessOptions): Promise<GatewayProcess> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DOCKER_HOST: opts.dockerHost,
      TITAN_BENCH_CONFIG: JSON.stringify(opts.config),
    };
    if (opts.redisUrl) env.REDIS_URL = opts.redisUrl;
    const program = await childProgram();
    const execArgv = [
      ...program.execArgv,
      '--expose-gc',
      ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : []),
    ];
    // The access log (a line per invocation) to a file beside the functions: kept, off the terminal.
    const logFd = openSync(join(dirname(opts.config.functionsDir), 'gateway-stdout.log'), 'a');
    const child = fork(program.file, [], {
      execArgv,
      env,
      stdio: ['ignore', logFd, 'inherit', 'ipc'],
    });
    closeSync(logFd); // the child has its own copy
    const timeoutMs = opts.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    let onExit: ((code: number | null) => void) | undefined;
    let onMessage: ((m: FromChild) => void) | undefined;
    try {
      const ready = await new Promise<Extract<FromChild, { type: 'ready' }>>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the gateway was not ready after ${timeoutMs} ms`)),
          timeoutMs,
        );
        onExit = (code) => reject(new Error(`the gateway exited with code ${code} while starting`));
        onMessage = (m) => {
          if (m.type === 'ready') resolve(m);
          else if (m.type === 'failed')
            reject(new Error(`the gateway did not start: ${m.message}`));
        };
        child.once('exit', onExit);
        child.on('message', onMessage);
      }).finally(() => {
        clearTimeout(timer);
        child.off('exit', onExit!);
        child.off('message', onMessage!);
      });
      return new GatewayProcess(child, ready.port, ready.redisUrl, ready.triggers);
    } catch (err) {
      // A child that failed closes itself (removing what it started); one that hangs is killed.
      if (child.exitCode === null && child.signalCode === null)
        await new GatewayProcess(child, 0, undefined, '').close(30_000);
      throw err;
    }
  }

  private request<T extends FromChild['type']>(
    msg: ToChild,
    answer: T,
  ): Promise<Extract<FromChild, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${answer} answer from the gateway within 10 s`)),
        10_000,
      );
      const on = (m: FromChild) => {
        if (m.type !== answer) return;
        clearTimeout(timer);
        this.child.off('message', on);
        resolve(m as Extract<FromChild, { type: T }>);
      };
      this.child.on('message', on);
      this.child.send(msg);
    });
  }

  /** The gateway process's RSS and where it is, after a full GC, in bytes. */
  async memory(): Promise<MemoryFigures> {
    const { type: _, ...figures } = await this.request({ type: 'memory' }, 'memory');
    return figures;
  }

  /** Drain and remove its containers, then exit; killed if that takes longer than `timeoutMs`. */
  async close(timeoutMs = 60_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.send({ type: 'close' } satisfies ToChild);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
