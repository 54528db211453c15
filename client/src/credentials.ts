// Turns a resolved Connection into what the HTTP client and hooks need: the PEM bytes and the
// host's name as the server will see it (the certificate's subject CN).
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ClientError } from './errors.js';
import type { TlsMaterial } from './http.js';
import type { Connection } from './config.js';

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
