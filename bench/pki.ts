// Certificates made at bench time, as the tests make them: one CA, a server certificate for
// 127.0.0.1, and one client certificate per simulated host (CN = the host name keyholder sees).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, issueCertificate, type KeyedCert } from '../src/pki/x509.js';

export interface BenchPki {
  caPem: string;
  caPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  /** clients[i] has CN hostName(i) */
  clients: KeyedCert[];
}

export const hostName = (i: number) => `bench-host-${i}`;
export const lockName = (i: number) => `bench-lock-${i}`;

export async function makePki(dir: string, clientCount: number): Promise<BenchPki> {
  const ca = await createCa('keyholder bench CA');
  const server = await issueCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  const clients = await Promise.all(
    Array.from({ length: clientCount }, (_, i) =>
      issueCertificate(ca, { commonName: hostName(i), usage: 'client' }),
    ),
  );
  const write = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  };
  return {
    caPem: ca.certPem,
    caPath: write('ca.crt', ca.certPem),
    serverCertPath: write('server.crt', server.certPem),
    serverKeyPath: write('server.key', server.keyPem),
    clients,
  };
}
