// Certificates made at run time for the chaos run: one CA, a server certificate for 127.0.0.1,
// and one client certificate per simulated host (CN = the host name keyholder sees).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, issueCertificate, type KeyedCert } from '../../src/pki/x509.js';

export interface RunPki {
  caPem: string;
  caPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  host(name: string): Promise<KeyedCert>;
}

export async function makeRunPki(dir: string): Promise<RunPki> {
  const ca = await createCa('keyholder chaos CA');
  const server = await issueCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  const write = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  };
  const hosts = new Map<string, Promise<KeyedCert>>();
  return {
    caPem: ca.certPem,
    caPath: write('ca.crt', ca.certPem),
    serverCertPath: write('server.crt', server.certPem),
    serverKeyPath: write('server.key', server.keyPem),
    host(name) {
      if (!hosts.has(name)) hosts.set(name, issueCertificate(ca, { commonName: name, usage: 'client' }));
      return hosts.get(name)!;
    },
  };
}
