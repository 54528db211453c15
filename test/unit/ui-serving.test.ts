// How the server hands out the UI: files, the SPA fallback, security headers, API paths left
// alone, and a clear 404 when the UI was never built.
import Fastify from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installErrorHandling } from '../../src/http/errors.js';
import { uiRoutes } from '../../src/http/ui.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function appWith(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'keyholder-ui-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  const app = Fastify();
  installErrorHandling(app);
  await app.register(uiRoutes, { root });
  return app;
}

describe('UI serving', () => {
  it('serves index.html for / and client-side routes, assets as files', async () => {
    const app = await appWith({ 'index.html': '<html>ui</html>', 'assets/app-1a2b.js': 'run()' });
    for (const path of ['/', '/locks', '/locks/3']) {
      const r = await app.inject({ method: 'GET', url: path });
      expect(r.statusCode).toBe(200);
      expect(r.body).toBe('<html>ui</html>');
      expect(r.headers['content-security-policy']).toContain("script-src 'self'");
      expect(r.headers['cache-control']).toBe('no-cache');
    }
    const asset = await app.inject({ method: 'GET', url: '/assets/app-1a2b.js' });
    expect(asset.body).toBe('run()');
    expect(asset.headers['cache-control']).toContain('immutable');
  });

  it('does not hand index.html to API paths or leave the folder', async () => {
    const app = await appWith({ 'index.html': '<html>ui</html>' });
    for (const path of ['/api/nothing', '/v1/nothing', '/api', '/API/USERS', '/Api/dlmlocks', '/V1/x']) {
      const r = await app.inject({ method: 'GET', url: path });
      expect(r.statusCode).toBe(404);
      expect(r.json().error.message).toMatch(/Route not found/);
    }
    const r = await app.inject({ method: 'GET', url: '/assets/..%2f..%2fetc%2fpasswd' });
    expect(r.body).not.toContain('root:');
  });

  it('answers 404 with a reason when the UI was not built', async () => {
    const app = await appWith({});
    const r = await app.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(404);
    expect(r.json().error.message).toMatch(/not built/);
  });
});
