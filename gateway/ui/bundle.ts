// The dashboard's client script and style sheet: client/main.ts bundled by esbuild on first request
// and kept for the life of the process (no build step, no CDN, works air-gapped). esbuild is
// imported then, not at start: a gateway whose dashboard nobody opens never loads it (bin/start.js
// keeps it out of the gateway's memory for the same reason).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { TitanError } from '../../runtime/errors.ts';

export interface Assets {
  js: string;
  css: string;
}

const entry = fileURLToPath(new URL('./client/main.ts', import.meta.url));
const styles = fileURLToPath(new URL('./app.css', import.meta.url));

async function bundle(): Promise<Assets> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return { js: out.outputFiles[0]!.text, css: await readFile(styles, 'utf8') };
}

let assets: Promise<Assets> | undefined;

/** The bundled assets; a failed build is not kept, so the next request tries again. */
export function dashboardAssets(): Promise<Assets> {
  assets ??= bundle().catch((err: Error) => {
    assets = undefined;
    throw new TitanError('internal_error', `the dashboard's script did not build: ${err.message}`);
  });
  return assets;
}
