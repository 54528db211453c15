// Connection limits over real TLS (SPEC §8 "Connections"): idle keep-alive connections close
// after the keep-alive timeout, a request that does not arrive in time is dropped, a waiting
// handler is not cut by those timeouts, connections have a maximum age, their number is capped,
// and a CRL reload ends the connections whose certificates were checked against the old one.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCrl } from '../../src/pki/x509.js';
import { ADMIN, startTestServer, type TestServer } from '../support/server.js';
import { testPki } from '../support/pki.js';
import { openTcp, openTls, within } from '../support/raw-tls.js';

const AUTH = { authorization: `Basic ${Buffer.from(ADMIN.join(':')).toString('base64')}` };

describe('connection timeouts and limits', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', {
      http: {
        keepAliveTimeoutSeconds: 0.6,
        requestTimeoutSeconds: 0.8,
        maxConnectionAgeSeconds: 60,
        maxConnections: 4,
      },
    });
  });
  afterAll(() => s?.close());
  const ca = () => s.pki.ca.certPem;

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const c = await openTls(s.server.port, ca());
    expect((await c.request('GET', '/healthz')).status).toBe(200);
    expect((await c.request('GET', '/healthz')).status).toBe(200); // kept alive
    expect(await within(5000, c.closed)).toBe(true);
  });

  it('a connection that never sends a request, or never finishes its handshake, is dropped', async () => {
    const c = await openTls(s.server.port, ca());
    expect(await within(5000, c.closed)).toBe(true);
    const tcp = await openTcp(s.server.port);
    const tcpClosed = new Promise((resolve) => tcp.once('close', resolve));
    expect(await within(5000, tcpClosed)).toBe(true);
  });

  it('a half-sent body is dropped after the request timeout', async () => {
    const c = await openTls(s.server.port, ca());
    c.socket.write(
      'POST /api/dlmlocks HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n' +
        `content-length: 100\r\nauthorization: ${AUTH.authorization}\r\n\r\n{"dlmlock":`,
    );
    expect(await within(5000, c.closed)).toBe(true);
    expect((await s.asAdmin('GET', '/api/dlmlocks')).json.total).toBe(0);
  });

  it('a blocking acquire waits longer than both timeouts and is still answered', async () => {
    expect((await s.asHost('holder', 'PUT', '/api/dlmlocks/long/lock')).status).toBe(200);
    const waiter = await openTls(s.server.port, ca(), await s.host('waiter'));
    const started = Date.now();
    const r = await waiter.request('PUT', '/api/dlmlocks/long/lock?wait=2');
    expect(r.status).toBe(412);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    waiter.socket.destroy();
  });

  it('connections beyond the cap are refused; a freed slot is usable again', async () => {
    const open = await Promise.all([0, 1, 2, 3].map(() => openTls(s.server.port, ca())));
    await Promise.all(open.map((c) => c.request('GET', '/healthz')));
    const refused = await openTls(s.server.port, ca()).then(
      (c) => within(2000, c.closed),
      () => true,
    );
    expect(refused).toBe(true);
    for (const c of open) c.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const again = await openTls(s.server.port, ca());
    expect((await again.request('GET', '/healthz')).status).toBe(200);
    again.socket.destroy();
  });
});

describe('connection age and certificate reloads', () => {
  let s: TestServer;
  let crlPath: string;
  beforeAll(async () => {
    const pki = await testPki();
    crlPath = join(pki.dir, `crl-live-${Date.now()}.pem`);
    writeFileSync(crlPath, await createCrl(pki.ca, []));
    s = await startTestServer('sqlite', {
      http: { maxConnectionAgeSeconds: 1.5, keepAliveTimeoutSeconds: 30 },
      tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath, crl: crlPath },
    });
  });
  afterAll(() => s?.close());

  it('a busy connection past its maximum age is closed after its response', async () => {
    expect((await s.asHost('holder', 'PUT', '/api/dlmlocks/aged/lock')).status).toBe(200);
    const c = await openTls(s.server.port, s.pki.ca.certPem, await s.host('aged-waiter'));
    // still waiting when the connection reaches its age
    const r = await c.request('PUT', '/api/dlmlocks/aged/lock?wait=2');
    expect([r.status, r.headers.connection]).toEqual([412, 'close']);
    expect(await within(2000, c.closed)).toBe(true);
  });

  it('an idle connection past its maximum age is closed', async () => {
    const c = await openTls(s.server.port, s.pki.ca.certPem);
    expect((await c.request('GET', '/healthz')).status).toBe(200);
    expect(await within(4000, c.closed)).toBe(true);
  });

  it('after a CRL reload, a revoked certificate no longer works on its open connection', async () => {
    const victim = await s.pki.host('revoked-later');
    const c = await openTls(s.server.port, s.pki.ca.certPem, victim);
    expect((await c.request('PUT', '/api/dlmlocks/crl-live/lock')).status).toBe(200);
    writeFileSync(crlPath, await createCrl(s.pki.ca, [victim.certPem]));
    s.server.reloadTls();
    // the next request on the same connection does not succeed as that host
    const next = await c.request('PUT', '/api/dlmlocks/crl-live-2/lock').catch(() => undefined);
    expect(next?.status).toBeUndefined();
    expect(c.isClosed()).toBe(true);
    // and a new connection with it is refused
    expect((await s.request('PUT', '/api/dlmlocks/crl-live-2/lock', { cert: victim })).status).toBe(401);
    const lock = await s.asAdmin('GET', '/api/dlmlocks/crl-live-2');
    expect(lock.status).toBe(404);
  });
});
