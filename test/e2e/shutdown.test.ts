// Graceful shutdown: SIGTERM lets the request in flight finish (a blocked acquire is answered
// 503 so its client retries elsewhere), closes the database and exits 0.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { httpsRequest } from '../support/http.js';
import { testPki } from '../support/pki.js';
import { serverEnv, startServerProcess } from '../support/process.js';
import { openTcp, openTls, within } from '../support/raw-tls.js';

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

  it('ends within the grace period although idle connections, a handshake and a half-sent body are open', async () => {
    const pki = await testPki();
    const dataDir = mkdtempSync(join(inject('tmpRoot'), 'keyholder-shutdown-'));
    const server = await startServerProcess({
      ...serverEnv({ dataDir }, pki, 'shutdown-admin'),
      KEYHOLDER_HTTP_SHUTDOWN_GRACE_SECONDS: '2',
    });
    const idle = await openTls(server.port, pki.ca.certPem);
    expect((await idle.request('GET', '/healthz')).status).toBe(200);
    const handshaking = await openTcp(server.port);
    const halfSent = await openTls(server.port, pki.ca.certPem);
    halfSent.socket.write(
      'POST /api/dlmlocks HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n' +
        'content-length: 1000\r\n\r\n{"dlmlock":',
    );
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise<number | null>((resolve) => server.proc.once('exit', (code) => resolve(code)));
    server.proc.kill('SIGTERM');
    // the idle connection ends at once, the half-sent body with the grace (2 s)
    expect(await within(1500, idle.closed)).toBe(true);
    expect(await within(8000, exited)).toBe(true);
    expect(await exited).toBe(0);
    expect(halfSent.isClosed()).toBe(true);
    handshaking.destroy();
  });
});
