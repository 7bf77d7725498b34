/**
 * A headless Chromium for tests of the live page: the browser that @sparticuz/chromium ships inside
 * its npm package (no system package needed), driven by playwright-core. @sparticuz/chromium is an
 * ES module that reads `import.meta.url`, which jest's CommonJS transform cannot run: a child Node
 * process (which loads ES modules natively) unpacks the browser and reports its path and flags.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type Browser, chromium } from 'playwright-core';

const LOCATE = `
import('@sparticuz/chromium').then(async ({ default: c }) => {
  process.stdout.write(JSON.stringify({ executablePath: await c.executablePath(), args: c.args }));
});`;

export async function launchBrowser(): Promise<Browser> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', LOCATE], { timeout: 60_000 });
  const { executablePath, args } = JSON.parse(stdout) as { executablePath: string; args: string[] };
  return chromium.launch({ executablePath, args, headless: true });
}
