// Graceful shutdown: SIGTERM lets the request in flight finish (a blocked acquire is answered
// 503 so its client retries elsewhere), closes the database and exits 0.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { httpsRequest } from '../support/http.js';
import { testPki } from '../support/pki.js';
import { serverEnv, startServerProcess } from '../support/process.js';

describe('SIGTERM', () => {
  it('answers what is in flight, then exits 0', async () => {
    const pki = await testPki();
    const dataDir = mkdtempSync(join(inject('tmpRoot'), 'keyholder-shutdown-'));
    const server = await startServerProcess(serverEnv({ dataDir }, pki, 'shutdown-admin'));
    const call = async (host: string, path: string) =>
      httpsRequest(server.url, pki.ca.certPem, 'PUT', path, { cert: await pki.host(host) });
    expect((await call('first', '/api/dlmlocks/busy/lock')).status).toBe(200);
    const blocked = call('second', '/api/dlmlocks/busy/lock?wait=120');
    // the waiter is queued once its host exists (it registers before waiting)
    for (let i = 0; i < 100; i++) {
      const hosts = await httpsRequest(server.url, pki.ca.certPem, 'GET', '/api/hosts', {
        user: ['admin', 'shutdown-admin'],
      });
      if (hosts.json.total === 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const exited = new Promise<number | null>((resolve) => server.proc.once('exit', (code) => resolve(code)));
    server.proc.kill('SIGTERM');
    const answer = await blocked;
    expect(answer.status).toBe(503);
    expect(answer.json.error.message).toMatch(/shutting down/);
    expect(await exited).toBe(0);
  });
});
