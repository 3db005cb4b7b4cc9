// `npm start` / `titan serve`: load the config, find the container engine, make sure the runtime
// images exist, then serve the functions directory until SIGINT/SIGTERM. SIGHUP rescans.
import { loadConfig } from '../runtime/config.ts';
import { connectEngine, describeNoEngine } from '../runtime/engine/locate.ts';
import { isTitanError } from '../runtime/errors.ts';
import { ensureRuntimeImage } from '../runtime/image/runtime-image.ts';
import { Gateway } from './gateway.ts';
import { createLogger } from './logger.ts';

// Buffered, asynchronous output (logger.ts): flushed below before the process exits.
const logger = createLogger();
const log = logger.log;

function fail(sentence: string): never {
  process.stderr.write(`titan: ${sentence}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const config = await loadConfig({ path: process.env.TITAN_CONFIG });
  const located = await connectEngine(config.stateDir);
  if (!located) fail(await describeNoEngine(config.stateDir));
  const { found, engine } = located;
  const info = await engine.ping();
  log.info(
    { engine: found.host, source: found.source, version: info.serverVersion },
    'container engine',
  );

  for (const [kind, image] of [
    ['node', config.sandbox.image],
    ['python', config.sandbox.pythonImage],
  ] as const) {
    try {
      const outcome = await ensureRuntimeImage(engine, image, {
        kind,
        log: (line) => log.info(line),
      });
      if (outcome !== 'present') log.info({ image, kind, outcome }, 'runtime image ready');
    } catch (err) {
      // Python functions are optional: without their image they fail to start, the rest serves.
      if (kind === 'node') throw err;
      log.warn(
        { image, err: (err as Error).message },
        'python runtime image unavailable; runtime: python functions will not start',
      );
    }
  }

  const gateway = new Gateway({ config, engine, log });
  await gateway.start();
  const port = await gateway.listen();
  log.info(
    { url: `http://${config.gateway.host}:${port}`, functions_dir: config.functionsDir },
    'gateway listening',
  );

  process.on('SIGHUP', () => {
    log.info('SIGHUP: rescanning the functions directory');
    void gateway.registry.rescan();
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining and removing containers');
    await gateway.close();
    log.info({ signal, dropped_log_lines: logger.dropped() }, 'stopped');
    await logger.flush();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => fail(isTitanError(err) ? err.message : String((err as Error)?.stack ?? err)));
