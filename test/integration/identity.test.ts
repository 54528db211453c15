// Who is a host: verified client certificates (own CA only, CRL honoured), proxy headers only
// from trusted proxies, in both DN forms, and registration rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { testPki } from '../support/pki.js';

const PROXY = (dn: string, verify = 'SUCCESS') => ({ ssl_client_s_dn: dn, ssl_client_verify: verify });

describe('proxy headers', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { trustedProxies: ['127.0.0.1'] });
  });
  afterAll(() => s?.close());

  it.each([
    ['CN=web01.example.com,O=Example', 'web01.example.com'],
    ['CN=host,DN=example,DN=com', 'host'],
    ['/O=Example/CN=web02.example.com', 'web02.example.com'],
    ['O=Example, CN=web03.example.com', 'web03.example.com'],
  ])('a trusted proxy forwarding %s names host %s', async (dn, host) => {
    const r = await s.request('PUT', `/api/dlmlocks/proxy-${host}/lock`, { headers: PROXY(dn) });
    expect(r.status).toBe(200);
    expect(r.json.host).toEqual({ name: host, self: true });
  });

  it('ignores the DN unless SSL_CLIENT_VERIFY is SUCCESS', async () => {
    const r = await s.request('PUT', '/api/dlmlocks/proxy-x/lock', {
      headers: PROXY('CN=web09', 'FAILED:unable to verify'),
    });
    expect(r.status).toBe(401);
  });

  it('ignores the same headers from an address that is not a trusted proxy', async () => {
    const spoof = await s.request('PUT', '/api/dlmlocks/proxy-spoof/lock', {
      headers: PROXY('CN=web01.example.com'),
      localAddress: '127.0.0.2',
    });
    expect(spoof.status).toBe(401);
    const held = await s.request('PUT', '/api/dlmlocks/proxy-held/lock', { headers: PROXY('CN=victim') });
    expect(held.status).toBe(200);
    const steal = await s.request('DELETE', '/api/dlmlocks/proxy-held/lock', {
      headers: PROXY('CN=victim'),
      localAddress: '127.0.0.2',
    });
    expect(steal.status).toBe(401);
    // a real certificate from the untrusted address still counts as itself, not as the DN it claims
    const mixed = await s.asHost('web77', 'DELETE', '/api/dlmlocks/proxy-held/lock', {
      headers: PROXY('CN=victim'),
      localAddress: '127.0.0.2',
    });
    expect(mixed.status).toBe(412);
    const show = await s.asAdmin('GET', '/api/dlmlocks/proxy-held');
    expect(show.json.host).toEqual({ name: 'victim' });
  });
});

describe('configured proxy header names', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', {
      trustedProxies: ['127.0.0.0/8'],
      proxyHeaders: { dn: 'X-Client-DN', verify: 'X-Client-Verify' },
    });
  });
  afterAll(() => s?.close());

  it('reads the configured names and not the defaults', async () => {
    const custom = await s.request('PUT', '/api/dlmlocks/custom/lock', {
      headers: { 'x-client-dn': '/CN=nginx-host', 'x-client-verify': 'SUCCESS' },
    });
    expect(custom.json.host.name).toBe('nginx-host');
    const defaults = await s.request('PUT', '/api/dlmlocks/custom/lock', { headers: PROXY('CN=other') });
    expect(defaults.status).toBe(401);
  });
});

describe('client certificates', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(() => s?.close());

  it('a certificate from a foreign CA is no host', async () => {
    const pki = await testPki();
    const r = await s.request('PUT', '/api/dlmlocks/foreign/lock', { cert: await pki.foreignHost('web01') });
    expect(r.status).toBe(401);
    expect((await s.asAdmin('GET', '/api/dlmlocks/foreign')).status).toBe(404);
  });

  it('auto-registers a new host with can_acquire_locks on', async () => {
    await s.asHost('brand-new-host', 'GET', '/api/dlmlocks/whatever/lock');
    const host = await s.server.store.hostDirectory.getByName('brand-new-host');
    expect(host).toMatchObject({ name: 'brand-new-host', canAcquireLocks: true });
    expect(host!.lastCheckinAt).not.toBeNull();
  });
});

describe('a CRL', () => {
  let s: TestServer;
  beforeAll(async () => {
    const pki = await testPki();
    const crl = await pki.crlRevoking([await pki.host('revoked01')]);
    s = await startTestServer('sqlite', {
      tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath, crl },
    });
  });
  afterAll(() => s?.close());

  it('makes a revoked certificate no host, and leaves others alone', async () => {
    expect((await s.asHost('revoked01', 'PUT', '/api/dlmlocks/crl/lock')).status).toBe(401);
    expect((await s.asHost('fine01', 'PUT', '/api/dlmlocks/crl/lock')).status).toBe(200);
  });
});

describe('hosts.autoRegister off', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { hosts: { autoRegister: false } });
  });
  afterAll(() => s?.close());

  it('refuses unknown hosts with 403 and a clear message, creating nothing', async () => {
    const r = await s.asHost('stranger', 'PUT', '/api/dlmlocks/reg/lock');
    expect(r.status).toBe(403);
    expect(r.json.error.message).toMatch(/not registered/);
    expect(await s.server.store.hostDirectory.getByName('stranger')).toBeUndefined();
    expect((await s.asAdmin('GET', '/api/dlmlocks/reg')).status).toBe(404);
  });
});
