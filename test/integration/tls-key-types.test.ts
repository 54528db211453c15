// `keyholder ca init|issue --key-type ecdsa|rsa`: the development PKI in either key type, and a
// real handshake with what it issued — the host acquires as itself. An RSA CA (as Puppet's)
// can also issue ECDSA certificates, and the other way round.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { issueHostCertificate, pkiPaths } from '../../src/pki/dev.js';
import { httpsRequest } from '../support/http.js';
import { CLI } from '../support/process.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

function keyholder(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
    timeout: 60_000,
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

const keyType = (certPath: string) => new X509Certificate(readFileSync(certPath)).publicKey.asymmetricKeyType;

describe('keyholder ca --key-type', () => {
  let rsaDir: string;
  beforeAll(async () => {
    rsaDir = mkdtempSync(join(inject('tmpRoot'), 'ca-rsa-'));
    // 2048 bits: a 4096-bit key takes seconds to make on a busy machine (4096 is the default)
    const init = keyholder(['ca', 'init', '--key-type', 'rsa', '--rsa-bits', '2048', '-d', rsaDir]);
    expect(init.status, init.out).toBe(0);
    // (each CLI start costs seconds on a busy machine: the rest goes through the same functions)
    await issueHostCertificate(rsaDir, 'rsa-host', undefined, { rsaBits: 2048 });
    const ecHost = keyholder(['ca', 'issue', 'ec-host', '--key-type', 'ecdsa', '-d', rsaDir]);
    expect(ecHost.status, ecHost.out).toBe(0);
  }, 120_000);

  it('init --key-type rsa makes an RSA CA and server certificate of the size asked', () => {
    const p = pkiPaths(rsaDir);
    for (const cert of [p.caCert, p.serverCert]) {
      const key = new X509Certificate(readFileSync(cert)).publicKey;
      expect(key.asymmetricKeyType).toBe('rsa');
      expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    }
  });

  it("issue follows the CA's key type unless told; --key-type ecdsa gives P-256 under an RSA CA", () => {
    expect(keyType(join(pkiPaths(rsaDir).dir, 'hosts', 'rsa-host.crt'))).toBe('rsa');
    const ec = new X509Certificate(readFileSync(join(pkiPaths(rsaDir).dir, 'hosts', 'ec-host.crt')));
    expect(ec.publicKey.asymmetricKeyType).toBe('ec');
    expect(ec.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('tls.devKeyType (KEYHOLDER_TLS_DEV_KEY_TYPE) takes ecdsa or rsa, nothing else', () => {
    expect(loadConfig({ env: { KEYHOLDER_TLS_DEV_KEY_TYPE: 'rsa' } }).tls.devKeyType).toBe('rsa');
    expect(loadConfig({ env: {} }).tls.devKeyType).toBe('ecdsa');
    expect(() => loadConfig({ env: { KEYHOLDER_TLS_DEV_KEY_TYPE: 'dsa' } })).toThrow(/devKeyType/);
  });

  describe.each(STORES)('a handshake with the issued certificates (%s)', (kind) => {
    let s: TestServer;
    beforeAll(async () => {
      const p = pkiPaths(rsaDir);
      s = await startTestServer(kind, { tls: { cert: p.serverCert, key: p.serverKey, ca: p.caCert } });
    });
    afterAll(() => s?.close());

    it('RSA server certificate; RSA and ECDSA hosts acquire as themselves', async () => {
      const p = pkiPaths(rsaDir);
      const caPem = readFileSync(p.caCert, 'utf8');
      for (const host of ['rsa-host', 'ec-host']) {
        const cert = {
          certPem: readFileSync(join(p.dir, 'hosts', `${host}.crt`), 'utf8'),
          keyPem: readFileSync(join(p.dir, 'hosts', `${host}.key`), 'utf8'),
        };
        const r = await httpsRequest(s.url, caPem, 'PUT', `/api/dlmlocks/kt-${host}/lock`, { cert });
        expect(r.status, r.text).toBe(200);
        expect(r.json.holders.map((h: { name: string }) => h.name)).toEqual([host]);
      }
    });
  });
});
