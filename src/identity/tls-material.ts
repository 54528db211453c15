// The server's TLS material (certificate, key, client CA bundle, CRL), read from files and
// re-read without a restart: on SIGHUP, or when the files change (`tls.watchSeconds`). New
// connections get the new context; a CA rotation or a fresh CRL needs no downtime. A half
// written or mismatched set is refused and the running context stays.
import { X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
  crl?: string;
  generated: boolean;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/**
 * OpenSSL silently skips what is not a certificate in a CA bundle: a truncated or mistyped
 * file would then lock every host out. Each PEM block must parse, and there must be one.
 */
function certificates(path: string, what: string): Buffer {
  const pem = readPem(path, what);
  const blocks =
    pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${what} ${path} holds no PEM certificate`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new Error(`${what} ${path} holds a certificate that does not parse: ${(err as Error).message}`);
    }
  }
  return pem;
}

export function readTlsContext(files: TlsFiles): SecureContextOptions {
  return {
    cert: certificates(files.cert, 'server certificate'),
    key: readPem(files.key, 'server key'),
    ca: certificates(files.ca, 'client CA bundle'),
    ...(files.crl ? { crl: readPem(files.crl, 'CRL') } : {}),
    minVersion: 'TLSv1.2',
  };
}

export interface TlsReloader {
  /** re-reads the files; throws (keeping the old context) when they are unreadable or invalid */
  reload(): void;
  close(): void;
}

export function tlsReloader(
  server: HttpsServer,
  files: TlsFiles,
  watchSeconds: number,
  log: { info(msg: string): void; error(obj: object, msg: string): void },
  /** after a successful reload: connections verified against the old CA/CRL must not live on */
  onReloaded: () => void = () => {},
): TlsReloader {
  const reload = () => {
    const context = readTlsContext(files);
    // createSecureContext throws on a key that does not match the certificate, a bad PEM…
    createSecureContext(context);
    server.setSecureContext(context);
    log.info('TLS certificate, key, CA bundle and CRL reloaded');
    onReloaded();
  };
  const paths = [files.cert, files.key, files.ca, ...(files.crl ? [files.crl] : [])];
  const onChange = () => {
    try {
      reload();
    } catch (err) {
      log.error({ err }, 'TLS reload failed; keeping the current certificates');
    }
  };
  // watchFile polls stat(): it follows files replaced by rename (Puppet, certbot), unlike fs.watch.
  if (watchSeconds > 0) {
    for (const p of paths) watchFile(p, { interval: watchSeconds * 1000, persistent: false }, onChange);
  }
  return {
    reload,
    close: () => {
      for (const p of paths) unwatchFile(p, onChange);
    },
  };
}
