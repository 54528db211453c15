// Turns a resolved Connection into what the HTTP client and hooks need: the PEM bytes and the
// host's name as the server will see it (the certificate's subject CN).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { ClientError } from './errors.js';
import type { TlsMaterial } from './http.js';
import type { Connection, PuppetLookup } from './config.js';
import { PUPPET_SSL_DIR } from './config.js';

export interface Credentials {
  tls: TlsMaterial;
  /** subject CN of the client certificate: the host name keyholder and Foreman know us by */
  hostName: string;
}

async function readPem(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new ClientError(
      'config',
      `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

export async function loadCredentials(conn: Connection): Promise<Credentials> {
  const [cert, key, ca] = await Promise.all([
    readPem(conn.cert, 'client certificate'),
    readPem(conn.key, 'private key'),
    conn.cacert ? readPem(conn.cacert, 'CA certificate') : Promise.resolve(undefined),
  ]);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new ClientError(
      'config',
      `client certificate ${conn.cert} is not a PEM certificate: ${(err as Error).message}`,
    );
  }
  const cn = /^CN=(.*)$/m.exec(x509.subject)?.[1];
  if (!cn) throw new ClientError('config', `client certificate ${conn.cert} has no subject CN`);
  if (new Date(x509.validTo).getTime() < Date.now()) {
    throw new ClientError('config', `client certificate ${conn.cert} expired on ${x509.validTo}`);
  }
  return { tls: { cert, key, ...(ca && { ca }) }, hostName: cn };
}

/** Puppet's default certname is the lower-cased FQDN, which is what `hostname -f` prints. */
export function systemCertname(): string {
  try {
    const fqdn = execFileSync('hostname', ['-f'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
    if (fqdn) return fqdn.toLowerCase();
  } catch {
    // no `hostname` binary or no resolvable FQDN: the kernel's name is the next best guess
  }
  return os.hostname().toLowerCase();
}

export function puppetLookup(certname: string | undefined): PuppetLookup {
  return { sslDir: PUPPET_SSL_DIR, certname: () => certname ?? systemCertname(), exists: existsSync };
}
