// Driving the dashboard (/ui) in Debian's Chromium through playwright-core: launch with a clear
// failure when the browser is missing (npm run setup installs it; a test never skips for want of
// it), and screenshots under test/artifacts/ (git-ignored).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM } from '../../scripts/system-packages.ts';

export const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium is missing at ${CHROMIUM}: the dashboard tests drive a real browser; \`npm run setup\` installs Debian's chromium package (or: apt-get install chromium)`,
  );
  await mkdir(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** Save a full-page screenshot as test/artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

/** The text of `selector` once it matches `pattern` (a locator wait: no script of ours runs in the page). */
export async function textWhen(
  page: Page,
  selector: string,
  pattern: RegExp,
  timeout = 15_000,
): Promise<string> {
  const el = page.locator(selector, { hasText: pattern }).first();
  await el.waitFor({ timeout });
  return (await el.textContent()) ?? '';
}
