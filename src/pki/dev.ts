// The development PKI in <dataDir>/pki: a CA, a server certificate for this machine, and host
// certificates on request. Generated on first start so `keyholder server` works out of the box.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createCa, issueCertificate, keyTypeOf, type KeyedCert, type KeyOptions } from './x509.js';

export interface PkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

export function pkiPaths(dataDir: string): PkiPaths {
  const dir = join(dataDir, 'pki');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
  };
}

function writeKeyed(certPath: string, keyPath: string, pair: KeyedCert): void {
  writeFileSync(keyPath, pair.keyPem, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  writeFileSync(certPath, pair.certPem, { mode: 0o644 });
}

function readCa(paths: PkiPaths): KeyedCert {
  if (!existsSync(paths.caCert) || !existsSync(paths.caKey)) {
    throw new Error(`no development CA in ${paths.dir}; run 'keyholder ca init' first`);
  }
  return { certPem: readFileSync(paths.caCert, 'utf8'), keyPem: readFileSync(paths.caKey, 'utf8') };
}

/**
 * Creates the CA and server certificate unless they exist; returns whether it created them.
 * `keys` applies to what it creates (ECDSA P-256 by default, RSA-4096 on request).
 */
export async function ensureDevPki(
  dataDir: string,
  extraNames: string[] = [],
  keys: KeyOptions = {},
): Promise<boolean> {
  const paths = pkiPaths(dataDir);
  if (existsSync(paths.caCert) && existsSync(paths.serverCert)) return false;
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const ca = existsSync(paths.caCert)
    ? readCa(paths)
    : await createCa('keyholder development CA', 3650, keys);
  if (!existsSync(paths.caCert)) writeKeyed(paths.caCert, paths.caKey, ca);
  const names = [
    ...new Set(['localhost', hostname(), ...extraNames].filter((n) => n && !/^[\d.:]+$/.test(n))),
  ];
  const server = await issueCertificate(ca, {
    commonName: hostname() || 'localhost',
    dnsNames: names,
    ipAddresses: ['127.0.0.1', '::1'],
    usage: 'server',
    ...keys,
  });
  writeKeyed(paths.serverCert, paths.serverKey, server);
  return true;
}

/**
 * Writes <dataDir>/pki/hosts/<host>.crt and .key, signed by the development CA; the key is of
 * the CA's type unless `keys` says otherwise.
 */
export async function issueHostCertificate(
  dataDir: string,
  host: string,
  outDir?: string,
  keys: KeyOptions = {},
): Promise<{ cert: string; key: string }> {
  if (!/^[A-Za-z0-9._-]{1,253}$/.test(host)) {
    throw new Error(`'${host}' is not a host name (letters, digits, '.', '-', '_')`);
  }
  const paths = pkiPaths(dataDir);
  const ca = readCa(paths);
  const dir = outDir ?? join(paths.dir, 'hosts');
  mkdirSync(dir, { recursive: true });
  const pair = await issueCertificate(ca, {
    commonName: host,
    dnsNames: [host],
    usage: 'client',
    ...keys,
    keyType: keys.keyType ?? keyTypeOf(ca.certPem),
  });
  const cert = join(dir, `${host}.crt`);
  const key = join(dir, `${host}.key`);
  writeKeyed(cert, key, pair);
  return { cert, key };
}
