// Certificates made at bench time, as the tests make them: one CA, a server certificate for
// 127.0.0.1, and one client certificate per simulated host (CN = the host name keyholder sees).
// ECDSA P-256 by default; the new-connection section uses RSA-4096 as Puppet's CA issues it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, issueCertificate, type KeyedCert, type KeyOptions } from '../src/pki/x509.js';

export interface BenchPki {
  caPem: string;
  caPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  /** clients[i] has CN hostName(i) */
  clients: KeyedCert[];
  ca: KeyedCert;
}

export const hostName = (i: number) => `bench-host-${i}`;
export const lockName = (i: number) => `bench-lock-${i}`;

const serverCert = (ca: KeyedCert, keys: KeyOptions) =>
  issueCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
    ...keys,
  });

/** `keys` applies to every key made (CA, server, clients): ECDSA P-256 unless told otherwise. */
export async function makePki(
  dir: string,
  clientCount: number,
  keys: KeyOptions = {},
  prefix = '',
): Promise<BenchPki> {
  const ca = await createCa('keyholder bench CA', 30, keys);
  const server = await serverCert(ca, keys);
  const clients = await Promise.all(
    Array.from({ length: clientCount }, (_, i) =>
      issueCertificate(ca, { commonName: hostName(i), usage: 'client', ...keys }),
    ),
  );
  const write = (name: string, content: string) => {
    const p = join(dir, `${prefix}${name}`);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  };
  return {
    caPem: ca.certPem,
    caPath: write('ca.crt', ca.certPem),
    serverCertPath: write('server.crt', server.certPem),
    serverKeyPath: write('server.key', server.keyPem),
    clients,
    ca,
  };
}

/** Another server certificate from the same CA (the ECDSA one beside an RSA PKI, say). */
export async function addServerCert(
  dir: string,
  pki: BenchPki,
  keys: KeyOptions,
  prefix: string,
): Promise<{ cert: string; key: string }> {
  const server = await serverCert(pki.ca, keys);
  const cert = join(dir, `${prefix}server.crt`);
  const key = join(dir, `${prefix}server.key`);
  writeFileSync(cert, server.certPem, { mode: 0o600 });
  writeFileSync(key, server.keyPem, { mode: 0o600 });
  return { cert, key };
}
