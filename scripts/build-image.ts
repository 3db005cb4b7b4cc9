// `npm run image [-- --tag name:tag]`: the gateway's production image, built against the engine
// `npm run setup` found or started, on top of the runtime image setup made available.
import { parseArgs } from 'node:util';
import { loadConfig } from '../runtime/config.ts';
import { connectEngine, describeNoEngine } from '../runtime/engine/locate.ts';
import { buildGatewayImage } from '../runtime/image/gateway-image.ts';
import { ensureRuntimeImage } from '../runtime/image/runtime-image.ts';

const { values } = parseArgs({
  options: { tag: { type: 'string', default: 'titan-functions:latest' } },
});
const config = await loadConfig({ path: process.env.TITAN_CONFIG });
const located = await connectEngine(config.stateDir);
if (!located) {
  process.stderr.write(`✗ ${await describeNoEngine(config.stateDir)}\n`);
  process.exit(1);
}
const { engine } = located;
const since = performance.now();
await ensureRuntimeImage(engine, config.sandbox.image, {
  log: (l) => process.stdout.write(`  ${l}\n`),
});
await buildGatewayImage(engine, values.tag!, (l) => process.stdout.write(`  ${l}\n`));
process.stdout.write(
  `✓ image ${values.tag} built in ${((performance.now() - since) / 1000).toFixed(1)} s\n`,
);
