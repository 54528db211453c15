// Certificates made at test time: one CA, a server certificate for 127.0.0.1/localhost, host
// certificates by name, and a foreign CA's certificate that must never count.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import {
  createCa,
  createCrl,
  issueCertificate,
  type IssueOptions,
  type KeyedCert,
} from '../../src/pki/x509.js';

export interface TestPki {
  dir: string;
  ca: KeyedCert;
  caPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  /** certificate then key in one text, as HAProxy's `crt` wants them */
  serverPem: string;
  host(name: string): Promise<KeyedCert>;
  /** a host certificate with exactly this subject (RDNs in certificate order) */
  withSubject(subject: NonNullable<IssueOptions['subject']>, dnsNames?: string[]): Promise<KeyedCert>;
  foreignHost(name: string): Promise<KeyedCert>;
  crlRevoking(certs: KeyedCert[]): Promise<string>;
}

let shared: Promise<TestPki> | undefined;

async function build(): Promise<TestPki> {
  // inside the run's temp folder, which the global teardown removes
  const dir = mkdtempSync(join(inject('tmpRoot'), 'keyholder-pki-'));
  const ca = await createCa('keyholder test CA');
  const foreignCa = await createCa('some other CA');
  const server = await issueCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    usage: 'server',
  });
  const write = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const hosts = new Map<string, Promise<KeyedCert>>();
  const foreign = new Map<string, Promise<KeyedCert>>();
  return {
    dir,
    ca,
    caPath: write('ca.crt', ca.certPem),
    serverCertPath: write('server.crt', server.certPem),
    serverKeyPath: write('server.key', server.keyPem),
    serverPem: server.certPem + server.keyPem,
    host(name) {
      if (!hosts.has(name)) hosts.set(name, issueCertificate(ca, { commonName: name, usage: 'client' }));
      return hosts.get(name)!;
    },
    withSubject(subject, dnsNames) {
      return issueCertificate(ca, { commonName: '', subject, dnsNames, usage: 'client' });
    },
    foreignHost(name) {
      if (!foreign.has(name))
        foreign.set(name, issueCertificate(foreignCa, { commonName: name, usage: 'client' }));
      return foreign.get(name)!;
    },
    async crlRevoking(certs) {
      return write(
        `crl-${Date.now()}-${Math.random()}.pem`,
        await createCrl(
          ca,
          certs.map((c) => c.certPem),
        ),
      );
    },
  };
}

/** One PKI per test worker: ECDSA keys are cheap, but there is no need to make them per test. */
export function testPki(): Promise<TestPki> {
  return (shared ??= build());
}
