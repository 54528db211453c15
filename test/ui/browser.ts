// Debian's chromium driven by playwright-core (no browser download). Locally a missing
// chromium skips the UI tests; in CI (CI=true) it is a failure, since .ci/run installs it.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { uiBuilt } from '../../src/http/ui.js';

export const CHROMIUM = '/usr/bin/chromium';

export const haveChromium = existsSync(CHROMIUM);

/** Whether to run the UI tests; throws where skipping would hide a broken setup. */
export function uiTestsRunnable(): boolean {
  if (!uiBuilt()) throw new Error('dist/ui is missing: run `npm run build` before the UI tests');
  if (!haveChromium && process.env.CI)
    throw new Error(`${CHROMIUM} is missing (CI installs Debian's chromium)`);
  return haveChromium;
}

export function launch(): Promise<Browser> {
  // launch() gives every run a fresh, throwaway profile (its own --user-data-dir)
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A separate browser profile per person: own cookies, own session. */
export async function newContext(
  browser: Browser,
  baseURL: string,
  viewport = { width: 1280, height: 900 },
): Promise<BrowserContext> {
  // the test server's certificate comes from a CA made at test time
  return browser.newContext({ baseURL, ignoreHTTPSErrors: true, viewport });
}

export async function logIn(page: Page, login: string, password: string): Promise<void> {
  await page.goto('/locks');
  await page.locator('#pf-login-username-id').fill(login);
  await page.locator('#pf-login-password-id').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByTestId('whoami').waitFor();
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's WCAG 2 A/AA rules on the page as it stands: the violations, each as
 * "rule: target, target…". Evaluated through the browser's protocol, so the page's CSP (no
 * inline scripts) does not stand in the way and nothing is added to the app.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  return page.evaluate(`(async () => {
    ${AXE_SOURCE}
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return result.violations.map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', '));
  })()`);
}
