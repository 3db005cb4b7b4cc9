#!/usr/bin/env -S node --max-semi-space-size=8
// `titan`: `titan serve` runs the compiled gateway as `npm start` does (bin/start.js), with the same
// young-generation cap, passed by the shebang since V8 reads it only at start; every other
// command registers tsx so the TypeScript sources run as they are, and hands over to gateway/cli.ts.
if (process.argv[2] === 'serve' && process.argv.length === 3) {
  await import('./start.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(new URL('../gateway/cli.ts', import.meta.url).href);
  process.exitCode = await main(process.argv.slice(2));
}
