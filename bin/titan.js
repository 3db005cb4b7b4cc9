#!/usr/bin/env node
// `titan`: registers tsx so the TypeScript sources run as they are, then hands over to gateway/cli.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL('../gateway/cli.ts', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
