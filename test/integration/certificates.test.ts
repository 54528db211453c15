// Host certificates: expired, not yet valid and foreign-CA certificates are no host (with a
// 401 that says why); SAN names count with hosts.matchSan; the CA bundle and CRL are re-read
// without a restart (reloadTls — what SIGHUP calls — and the file watch).
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, createCrl, issueCertificate, type KeyedCert } from '../../src/pki/x509.js';
import { testPki, type TestPki } from '../support/pki.js';
import { startTestServer, type TestServer } from '../support/server.js';

const DAY = 86_400_000;

describe('certificates that do not verify', () => {
  let s: TestServer;
  let pki: TestPki;
  beforeAll(async () => {
    pki = await testPki();
    s = await startTestServer('sqlite');
  });
  afterAll(() => s?.close());

  it.each([
    [
      'expired',
      { notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) },
      /has expired/,
    ],
    [
      'not yet valid',
      { notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 10 * DAY) },
      /not valid yet/,
    ],
  ])('an %s certificate is no host, and the 401 says why', async (_label, validity, reason) => {
    const cert = await issueCertificate(pki.ca, { commonName: 'timewarp01', usage: 'client', ...validity });
    const r = await s.request('PUT', '/api/dlmlocks/tw/lock', { cert });
    expect(r.status).toBe(401);
    expect(r.json.error.message).toMatch(/client certificate was not accepted/);
    expect(r.json.error.message).toMatch(reason);
    expect(await s.server.store.hostDirectory.getByName('timewarp01')).toBeUndefined();
    expect((await s.asAdmin('GET', '/api/dlmlocks/tw')).status).toBe(404);
  });

  it("a foreign CA's certificate for a known host name is no host", async () => {
    expect((await s.asHost('known01', 'PUT', '/api/dlmlocks/fca/lock')).status).toBe(200);
    const r = await s.request('DELETE', '/api/dlmlocks/fca/lock', { cert: await pki.foreignHost('known01') });
    expect(r.status).toBe(401);
    expect(r.json.error.message).toMatch(/not issued by the configured CA/);
    expect((await s.asAdmin('GET', '/api/dlmlocks/fca')).json.host).toEqual({ name: 'known01' });
  });

  it('a bad certificate does not spoil the user credentials sent with it', async () => {
    const r = await s.request('GET', '/api/dlmlocks', {
      cert: await pki.foreignHost('x'),
      user: ['admin', 'admin-password-for-tests'],
    });
    expect(r.status).toBe(200);
  });
});

describe('hosts.matchSan', () => {
  let withSan: TestServer;
  let cnOnly: TestServer;
  let cert: KeyedCert;
  beforeAll(async () => {
    const pki = await testPki();
    cert = await issueCertificate(pki.ca, {
      commonName: 'node-17',
      dnsNames: ['alias.example.com'],
      usage: 'client',
    });
    withSan = await startTestServer('sqlite', { hosts: { autoRegister: false, matchSan: true } });
    cnOnly = await startTestServer('sqlite', { hosts: { autoRegister: false } });
    for (const s of [withSan, cnOnly])
      await s.asAdmin('POST', '/api/hosts', { body: { name: 'alias.example.com' } });
  });
  afterAll(async () => {
    await withSan?.close();
    await cnOnly?.close();
  });

  it('with matchSan a DNS subjectAltName names a registered host', async () => {
    const r = await withSan.request('PUT', '/api/dlmlocks/san/lock', { cert });
    expect(r.status, r.text).toBe(200);
    expect(r.json.host).toEqual({ name: 'alias.example.com', self: true });
  });

  it('without it only the CN counts', async () => {
    const r = await cnOnly.request('PUT', '/api/dlmlocks/san/lock', { cert });
    expect(r.status).toBe(403);
    expect(r.json.error.message).toMatch(/not registered/);
  });
});

describe('reloading TLS material without a restart', () => {
  let s: TestServer;
  let dir: string;
  let caPath: string;
  let pki: TestPki;
  let newCa: KeyedCert;
  let fromNewCa: KeyedCert;
  beforeAll(async () => {
    pki = await testPki();
    dir = mkdtempSync(join(tmpdir(), 'keyholder-reload-'));
    caPath = join(dir, 'ca.crt');
    copyFileSync(pki.caPath, caPath);
    s = await startTestServer('sqlite', {
      tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: caPath, watchSeconds: 1 },
    });
    newCa = await createCa('rotated CA');
    fromNewCa = await issueCertificate(newCa, { commonName: 'rotated01', usage: 'client' });
  });
  afterAll(() => s?.close());

  it('a CA rotation: the new CA counts after reloadTls (SIGHUP), the old one still too', async () => {
    expect((await s.request('PUT', '/api/dlmlocks/rot/lock', { cert: fromNewCa })).status).toBe(401);
    writeFileSync(caPath, `${readFileSync(pki.caPath, 'utf8')}\n${newCa.certPem}`);
    s.server.reloadTls();
    expect((await s.request('PUT', '/api/dlmlocks/rot/lock', { cert: fromNewCa })).status).toBe(200);
    expect((await s.asHost('old01', 'PUT', '/api/dlmlocks/rot2/lock')).status).toBe(200);
  });

  it('a broken file is refused and the running certificates stay', async () => {
    const good = readFileSync(caPath, 'utf8');
    writeFileSync(caPath, 'not a certificate');
    expect(() => s.server.reloadTls()).toThrow();
    expect((await s.asHost('old02', 'PUT', '/api/dlmlocks/rot3/lock')).status).toBe(200);
    writeFileSync(caPath, good);
    s.server.reloadTls();
  });

  it('the file watch picks up a changed CA bundle by itself', async () => {
    const third = await createCa('third CA');
    const cert = await issueCertificate(third, { commonName: 'third01', usage: 'client' });
    expect((await s.request('PUT', '/api/dlmlocks/w/lock', { cert })).status).toBe(401);
    writeFileSync(caPath, `${readFileSync(caPath, 'utf8')}\n${third.certPem}`);
    // the watch polls every second; wait for it, bounded
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await s.request('PUT', '/api/dlmlocks/w/lock', { cert })).status;
    }
    expect(status).toBe(200);
  });

  it('a new CRL takes effect on reload', async () => {
    const victim = await pki.host('revoked-later');
    expect((await s.request('PUT', '/api/dlmlocks/crl/lock', { cert: victim })).status).toBe(200);
    const crlPath = join(dir, 'crl.pem');
    writeFileSync(crlPath, await createCrl(pki.ca, [victim.certPem]));
    // the CRL path is part of the configuration: a server configured with it from the start
    const withCrl = await startTestServer('sqlite', {
      tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: caPath, crl: crlPath },
    });
    try {
      expect((await withCrl.request('PUT', '/api/dlmlocks/crl/lock', { cert: victim })).status).toBe(401);
      const other = await pki.host('revoked-next');
      expect((await withCrl.request('PUT', '/api/dlmlocks/crl2/lock', { cert: other })).status).toBe(200);
      writeFileSync(crlPath, await createCrl(pki.ca, [victim.certPem, other.certPem]));
      withCrl.server.reloadTls();
      const r = await withCrl.request('PUT', '/api/dlmlocks/crl2/lock', { cert: other });
      expect(r.status).toBe(401);
      expect(r.json.error.message).toMatch(/revoked/);
    } finally {
      await withCrl.close();
    }
  });
});
