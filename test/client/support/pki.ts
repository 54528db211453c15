// Real certificates for the client tests, written as PEM files the CLI reads like any host would.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createCa, issueCertificate, type KeyedCert } from '../../../src/pki/x509.js';

export interface HostFiles {
  name: string;
  cert: string;
  key: string;
}

export async function writeHostFiles(dir: string, name: string, keyed: KeyedCert): Promise<HostFiles> {
  await mkdir(dir, { recursive: true });
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  await writeFile(cert, keyed.certPem);
  await writeFile(key, keyed.keyPem, { mode: 0o600 });
  return { name, cert, key };
}

export interface TestPki {
  ca: KeyedCert;
  caFile: string;
  server: KeyedCert;
  host(name: string): Promise<HostFiles>;
}

/** A CA with a server certificate for 127.0.0.1 and host certificates on demand. */
export async function makePki(dir: string, caName = 'keyholder client test CA'): Promise<TestPki> {
  await mkdir(dir, { recursive: true });
  const ca = await createCa(caName);
  const caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, ca.certPem);
  const server = await issueCertificate(ca, {
    commonName: 'localhost',
    usage: 'server',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  return {
    ca,
    caFile,
    server,
    host: async (name) =>
      writeHostFiles(dir, name, await issueCertificate(ca, { commonName: name, usage: 'client' })),
  };
}
