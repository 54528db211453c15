// The web UI in a real chromium against a real server over HTTPS: log in, watch a lock being
// taken without a reload, search, the lock page, actions by role, hosts, logout, a phone.
// One server and browser for the file; each person gets their own browser context.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestServer, type TestServer } from '../support/server.js';
import { launch, logIn, newContext, uiTestsRunnable } from './browser.js';

const PW = 'a-long-password-for-ui-tests';
const WAIT = { timeout: 10_000 };

describe.skipIf(!uiTestsRunnable())('web UI', () => {
  let s: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const pageFor = async (login: string, password = PW, viewport?: { width: number; height: number }) => {
    const ctx = await newContext(browser, s.url, viewport);
    contexts.push(ctx);
    const page = await ctx.newPage();
    await logIn(page, login, password);
    return page;
  };
  const lock = async (name: string) => (await s.asAdmin('GET', `/api/dlmlocks/${name}`)).json;

  beforeAll(async () => {
    s = await startTestServer('sqlite');
    for (const role of ['viewer', 'operator'] as const) {
      const r = await s.asAdmin('POST', '/api/users', { body: { login: role, password: PW, role } });
      expect(r.status).toBe(201);
    }
    browser = await launch();
  });
  afterAll(async () => {
    for (const ctx of contexts) await ctx.close();
    await browser?.close();
    await s?.close();
  });

  it('refuses a wrong password with a message, then logs in', async () => {
    const ctx = await newContext(browser, s.url);
    contexts.push(ctx);
    const page = await ctx.newPage();
    await page.goto('/');
    await page.locator('#pf-login-username-id').fill('admin');
    await page.locator('#pf-login-password-id').fill('wrong-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByTestId('login-error').textContent(), WAIT).toMatch(/Wrong login/);
    await page.locator('#pf-login-password-id').fill(ADMIN[1]);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByTestId('whoami').textContent(), WAIT).toBe('admin (admin)');
    expect(new URL(page.url()).pathname).toBe('/locks');
  });

  describe('as admin', () => {
    let page: Page;
    beforeAll(async () => {
      page = await pageFor(ADMIN[0], ADMIN[1]);
    });

    it('shows a lock a host takes while the page is open, without a reload', async () => {
      await s.asAdmin('POST', '/api/dlmlocks', { body: { name: 'other-lock' } });
      await page.getByTestId('lock-row-other-lock').waitFor(WAIT);
      expect(await page.getByTestId('lock-row-db-cluster').count()).toBe(0);
      const navigations: string[] = [];
      page.on('framenavigated', (f) => navigations.push(f.url()));

      expect((await s.asHost('web01.example.com', 'PUT', '/api/dlmlocks/db-cluster/lock')).status).toBe(200);
      const row = page.getByTestId('lock-row-db-cluster');
      await row.waitFor(WAIT);
      await expect.poll(() => row.getByTestId('holders').textContent(), WAIT).toBe('web01.example.com');
      expect(await row.getByTestId('lock-state').textContent()).toBe('reserved');
      expect(navigations).toEqual([]);
    });

    it('filters the list with the search syntax', async () => {
      await page.getByRole('textbox', { name: 'Search', exact: true }).fill('locked = true');
      await page.getByRole('textbox', { name: 'Search', exact: true }).press('Enter');
      await expect.poll(() => page.getByTestId('lock-row-other-lock').count(), WAIT).toBe(0);
      expect(await page.getByTestId('lock-row-db-cluster').count()).toBe(1);
      await page.getByRole('textbox', { name: 'Search', exact: true }).fill('name = (');
      await page.getByRole('textbox', { name: 'Search', exact: true }).press('Enter');
      await page.getByTestId('list-error').waitFor(WAIT);
    });

    it('opens the lock page with its holder and events', async () => {
      await page.getByRole('textbox', { name: 'Search', exact: true }).fill('');
      await page.getByRole('textbox', { name: 'Search', exact: true }).press('Enter');
      await page.getByRole('link', { name: 'db-cluster' }).click();
      await page.getByTestId('holder').filter({ hasText: 'web01.example.com' }).waitFor(WAIT);
      await page.getByTestId('event').filter({ hasText: 'acquire' }).first().waitFor(WAIT);
    });

    it('lists the host with its lock on the hosts page', async () => {
      await page.getByRole('link', { name: 'Hosts' }).click();
      const row = page.getByTestId('host-row-web01.example.com');
      await row.waitFor(WAIT);
      expect(await row.getByTestId('host-locks').textContent()).toBe('db-cluster');
    });
  });

  it('lets an operator disable and force-release a lock, but not delete it', async () => {
    const page = await pageFor('operator');
    await page.goto('/locks/db-cluster');
    await page.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(async () => (await lock('db-cluster')).enabled, WAIT).toBe(false);
    await page.getByRole('button', { name: 'Enable' }).waitFor(WAIT);

    await page.getByRole('button', { name: 'Release' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Release' }).click();
    await expect.poll(async () => (await lock('db-cluster')).holders.length, WAIT).toBe(0);
    await page.getByTestId('event').filter({ hasText: 'force_release' }).first().waitFor(WAIT);
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
  });

  it('shows a viewer no actions', async () => {
    const page = await pageFor('viewer');
    await page.goto('/locks/db-cluster');
    await page.getByTestId('lock-state').waitFor(WAIT);
    await page.getByTestId('event').first().waitFor(WAIT);
    expect(await page.getByTestId('lock-actions').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Enable|Disable|Release|Delete/ }).count()).toBe(0);
  });

  it('lets an admin delete a lock after confirming', async () => {
    const page = await pageFor(ADMIN[0], ADMIN[1]);
    await page.goto('/locks/other-lock');
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor(WAIT);
    // cancelling deletes nothing
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await s.asAdmin('GET', '/api/dlmlocks/other-lock')).status).toBe(200);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await expect
      .poll(async () => (await s.asAdmin('GET', '/api/dlmlocks/other-lock')).status, WAIT)
      .toBe(404);
    await page.waitForURL('**/locks', WAIT);
  });

  it('lets an admin issue and revoke an API token; others have no users page', async () => {
    const page = await pageFor(ADMIN[0], ADMIN[1]);
    await page.getByRole('link', { name: 'Users & tokens' }).click();
    await page.getByTestId('user-row-operator').waitFor(WAIT);
    await page.locator('#token-user').selectOption('operator');
    await page.locator('#token-name').fill('pipeline');
    await page.getByRole('button', { name: 'Issue token' }).click();
    const secret = await page.getByTestId('issued-token').locator('input').inputValue();
    expect(secret).toMatch(/^kh_/);
    const asToken = () =>
      s.request('GET', '/api/dlmlocks', { headers: { authorization: `Bearer ${secret}` } });
    expect((await asToken()).status).toBe(200);

    const row = page.getByTestId('token-row-pipeline');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => row.getByTestId('token-state').textContent(), WAIT).toBe('revoked');
    expect((await asToken()).status).toBe(401);

    const operator = await pageFor('operator');
    expect(await operator.getByRole('link', { name: 'Users & tokens' }).count()).toBe(0);
  });

  it('logs out: the session ends on the server too', async () => {
    const page = await pageFor('viewer');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#pf-login-username-id').waitFor(WAIT);
    await page.reload();
    await page.locator('#pf-login-username-id').waitFor(WAIT);
    const status = await page.evaluate(async () => (await fetch('/api/session')).status);
    expect(status).toBe(401);
  });

  it('renders the list on a phone-sized screen', async () => {
    const page = await pageFor('viewer', PW, { width: 390, height: 844 });
    const row = page.getByTestId('lock-row-db-cluster');
    await row.waitFor(WAIT);
    const box = await row.boundingBox();
    expect(box!.width).toBeLessThanOrEqual(390);
    // nothing forces the page wider than the screen
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
  });
});
