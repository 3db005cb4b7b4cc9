// `npm run setup` (after bin/setup.js installed the dependencies): the config loads, the Debian packages
// the runtime and the tests need are installed (when setup may), a container engine answers (started
// here when none does), and the runtime images (node, python) exist. Safe to run again: it reuses what exists.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../runtime/config.ts';
import type { EngineInfo } from '../runtime/engine/engine.ts';
import { describeNoEngine, engineAt, locateEngine, pingHost } from '../runtime/engine/locate.ts';
import { startLocalEngine } from '../runtime/engine/start-local.ts';
import { gvisorStatus } from '../runtime/engine/runtimes.ts';
import { ensureRuntimeImage, HOST_PYTHON } from '../runtime/image/runtime-image.ts';
import { AptInstaller } from './apt.ts';
import { installFunctionDeps } from './function-deps.ts';
import { ensurePackages, probeFacts } from './system-packages.ts';
import { build } from './build.js';

const done = (line: string) => process.stdout.write(`✓ ${line}\n`);
const detail = (line: string) => process.stdout.write(`  ${line}\n`);
const warn = (line: string) => process.stdout.write(`! ${line}\n`);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

interface ReadyEngine {
  host: string;
  info: EngineInfo;
  /** how it was found, as the user should read it */
  how: string;
  kind?: string;
}

async function readyEngine(stateDir: string, env: NodeJS.ProcessEnv): Promise<ReadyEngine> {
  const found = await locateEngine(stateDir, env);
  if (found) {
    const how =
      found.source === 'started by setup' ? 'started by an earlier setup, reused' : found.source;
    return { host: found.host, info: found.info, how, kind: found.kind };
  }
  // A DOCKER_HOST that does not answer is a mistake to report, not a reason to start another engine.
  if (env.DOCKER_HOST) throw new Error(await describeNoEngine(stateDir, env));
  const since = performance.now();
  const { host, kind } = await startLocalEngine(stateDir, detail);
  const info = await pingHost(host);
  if (!info)
    throw new Error(
      `the ${kind} setup started at ${host} stopped answering right after it started`,
    );
  return { host, info, how: `started by setup in ${seconds(since)}`, kind };
}

/** Runs every step; returns the process exit code. */
export async function setup(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    const configFile = env.TITAN_CONFIG || DEFAULT_CONFIG_PATH;
    const config = await loadConfig({ env });
    done(
      `config: ${existsSync(configFile) ? configFile : 'defaults'} (state dir ${config.stateDir})`,
    );

    const installer = new AptInstaller({ logFile: join(config.stateDir, 'setup-apt.log'), env });
    const packages = await ensurePackages(await probeFacts(config, env), installer, {
      done,
      detail,
      warn,
    });
    if (packages.outcome === 'none') done('system packages: nothing to install');

    for (const deps of await installFunctionDeps(config.functionsDir)) {
      done(
        `function ${deps.folder}: dependencies ${deps.outcome === 'installed' ? `installed (npm ci, ${(deps.ms / 1000).toFixed(1)} s)` : 'up to date'}`,
      );
    }

    const engine = await readyEngine(config.stateDir, env);
    const label = [engine.kind, engine.info.serverVersion].filter(Boolean).join(' ');
    done(`engine: ${label} (API ${engine.info.apiVersion}) at ${engine.host} (${engine.how})`);

    const docker = engineAt(engine.host);
    const images = [
      { kind: 'node', image: config.sandbox.image, from: `node ${process.version}` },
      { kind: 'python', image: config.sandbox.pythonImage, from: HOST_PYTHON },
    ] as const;
    for (const { kind, image, from } of images) {
      const since = performance.now();
      let outcome: Awaited<ReturnType<typeof ensureRuntimeImage>>;
      try {
        outcome = await ensureRuntimeImage(docker, image, { kind, log: detail });
      } catch (err) {
        // Python is optional: without its image only `runtime: python` functions fail to start.
        if (kind === 'node') throw err;
        process.stdout.write(
          `! ${kind} image ${image}: unavailable (${(err as Error).message}); runtime: python functions will not start\n`,
        );
        continue;
      }
      const how = {
        present: 'present',
        pulled: `pulled in ${seconds(since)}`,
        built: `built from this host's ${from} in ${seconds(since)}`,
      };
      done(`${kind} image ${image}: ${how[outcome]}`);
    }

    // `npm start` runs the compiled gateway; building it here keeps the first start quick (bin/start.js
    // rebuilds by itself whenever a source changes later).
    const since = performance.now();
    await build();
    done(`gateway compiled to dist/ in ${seconds(since)}`);

    // gVisor: required when the config asks for it; otherwise said, so a manifest asking for it is no surprise.
    const gvisor = await gvisorStatus(docker);
    if (gvisor.ok) done(gvisor.line);
    else if (config.sandbox.isolation === 'gvisor')
      throw new Error(`sandbox.isolation is gvisor, but ${gvisor.line}`);
    else warn(gvisor.line);

    // The gateway and the test harness find this engine as setup did (locateEngine): no export needed.
    process.stdout.write('Ready: start the gateway with `npm start`; `npm test` runs the tests\n');
    return 0;
  } catch (err) {
    process.stderr.write(`✗ setup failed: ${(err as Error)?.message ?? String(err)}\n`);
    return 1;
  }
}
