// Runs the service: TLS material (the development PKI when none is configured), the store
// and its migrations, the bootstrap admin, the HTTP app, and a graceful shutdown.
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { buildApp } from './http/app.js';
import { hashPassword, randomPassword } from './identity/passwords.js';
import { ensureDevPki, pkiPaths } from './pki/dev.js';
import { openStore } from './store/open.js';
import type { Store } from './store/store.js';
import { validationErrorField } from './store/errors.js';

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
  crl?: string;
  generated: boolean;
}

export async function resolveTlsFiles(config: Config): Promise<TlsFiles> {
  const { cert, key, ca, crl } = config.tls;
  if (cert || key || ca) {
    const missing = (['cert', 'key', 'ca'] as const).filter((k) => !config.tls[k]);
    if (missing.length) {
      throw new Error(
        `tls.${missing.join(', tls.')} must be set too (KEYHOLDER_TLS_CERT, _KEY and _CA go together)`,
      );
    }
    return { cert: cert!, key: key!, ca: ca!, crl, generated: false };
  }
  const generated = await ensureDevPki(config.dataDir);
  const p = pkiPaths(config.dataDir);
  return { cert: p.serverCert, key: p.serverKey, ca: p.caCert, crl, generated };
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Creates user `admin` on an empty database; returns the password only if it made one up. */
export async function bootstrapAdmin(
  store: Store,
  config: Config,
): Promise<{ created: boolean; password?: string }> {
  if ((await store.countUsers()) > 0) return { created: false };
  const password = config.adminPassword ?? randomPassword();
  try {
    await store.createUser('admin', await hashPassword(password), 'admin');
  } catch (err) {
    // Another instance starting at the same moment created it first.
    if (validationErrorField(err) === 'login') return { created: false };
    throw err;
  }
  return { created: true, password: config.adminPassword ? undefined : password };
}

export interface RunningServer {
  app: FastifyInstance;
  store: Store;
  url: string;
  port: number;
  tls: TlsFiles;
  admin: { created: boolean; password?: string };
  close(): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  const tls = await resolveTlsFiles(config);
  const https = {
    cert: readPem(tls.cert, 'server certificate'),
    key: readPem(tls.key, 'server key'),
    ca: readPem(tls.ca, 'client CA bundle'),
    ...(tls.crl ? { crl: readPem(tls.crl, 'CRL') } : {}),
    // Hosts present certificates, users do not: ask, verify, but let the app decide.
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2' as const,
  };
  const logger = { level: config.log.level };
  const store = openStore(config);
  await store.migrate();
  const admin = await bootstrapAdmin(store, config);
  const app = await buildApp({ config, store, https, logger });
  await app.listen({ host: config.host, port: config.port });
  const port = (app.server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `https://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    app,
    store,
    url,
    port,
    tls,
    admin,
    close: () => (closing ??= app.close().then(() => store.close())),
  };
}
