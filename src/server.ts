// Runs the service: TLS material (the development PKI when none is configured), the store
// and its migrations, the bootstrap admin, the HTTP app, and a graceful shutdown.
import type { FastifyInstance } from 'fastify';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { buildApp } from './http/app.js';
import { ConnectionGuard, serverCreationOptions } from './http/connections.js';
import { every, expireEventsOnce, expireOnce, reportStaleOnce } from './jobs/expiry.js';
import { WebhookDelivery } from './jobs/webhooks.js';
import { startHeartbeat } from './jobs/instance.js';
import { isUnavailableError, logHealthEvent } from './store/health.js';

/** Event retention is counted in days: once an hour is plenty. */
const EVENT_EXPIRY_INTERVAL_MS = 3_600_000;
import { hashPassword, randomPassword } from './identity/passwords.js';
import { readTlsContext, tlsReloader, type TlsFiles } from './pki/tls-material.js';
import { ensureDevPki, pkiPaths } from './pki/dev.js';
import { TlsExpiryWatch } from './pki/expiry.js';
import { openStore } from './store/open.js';
import type { Store } from './store/store.js';
import { validationErrorField } from './store/errors.js';

export type { TlsFiles };

export async function resolveTlsFiles(config: Config): Promise<TlsFiles> {
  const { cert, key, ca, crl, ticketKeyFile } = config.tls;
  if (cert || key || ca) {
    const missing = (['cert', 'key', 'ca'] as const).filter((k) => !config.tls[k]);
    if (missing.length) {
      throw new Error(
        `tls.${missing.join(', tls.')} must be set too (KEYHOLDER_TLS_CERT, _KEY and _CA go together)`,
      );
    }
    return { cert: cert!, key: key!, ca: ca!, crl, ticketKeyFile, development: false, generated: false };
  }
  const generated = await ensureDevPki(config.dataDir, [], { keyType: config.tls.devKeyType });
  const p = pkiPaths(config.dataDir);
  return {
    cert: p.serverCert,
    key: p.serverKey,
    ca: p.caCert,
    crl,
    ticketKeyFile,
    development: true,
    generated,
  };
}

/** Creates user `admin` on an empty database; returns the password only if it made one up. */
export async function bootstrapAdmin(
  store: Store,
  config: Config,
): Promise<{ created: boolean; password?: string }> {
  if ((await store.accounts.countUsers()) > 0) return { created: false };
  const password = config.adminPassword ?? randomPassword();
  try {
    await store.accounts.createUser(
      { login: 'admin', passwordHash: await hashPassword(password), role: 'admin' },
      null,
    );
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
  /** re-reads certificate, key, CA bundle and CRL for new connections (SIGHUP) */
  reloadTls(): void;
  close(): Promise<void>;
}

export interface StartOptions {
  /** where the JSON log goes (default stdout); tests capture it */
  logStream?: { write(line: string): void };
}

/** Secrets never reach the log, even if a future serializer logs request headers. */
const LOG_REDACT = ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'];

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const tls = await resolveTlsFiles(config);
  const https = {
    ...readTlsContext(tls),
    // Hosts present certificates, users do not: ask, verify, but let the app decide.
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2' as const,
    ...serverCreationOptions(config.http),
  };
  const logger = {
    level: config.log.level,
    redact: LOG_REDACT,
    ...(options.logStream ? { stream: options.logStream } : {}),
  };
  const store = openStore(config);
  await store.migrate();
  const admin = await bootstrapAdmin(store, config);
  const tlsExpiry = new TlsExpiryWatch(https);
  const app = await buildApp({ config, store, https, logger, tls: tlsExpiry });
  // Outages are logged once per episode (src/store/health.ts); jobs failing meanwhile are not.
  store.health.onEvent((event) => logHealthEvent(app.log, event));
  const jobFailed = (what: string) => (err: unknown) => {
    if (!isUnavailableError(err)) app.log.error({ err }, what);
  };
  const heartbeat = await startHeartbeat(store, config.locks, jobFailed('instance heartbeat failed'));
  const connections = new ConnectionGuard(app.server as HttpsServer, config.http);
  const webhooks = new WebhookDelivery(
    store,
    config.webhooks,
    app.log,
    config.locks.staleAfterSeconds * 1000,
    (givenUp) => app.metrics.webhookFailed(givenUp),
  );
  await webhooks.start();
  await app.listen({ host: config.host, port: config.port });
  const tlsReload = tlsReloader(
    app.server as HttpsServer,
    tls,
    config.tls.watchSeconds,
    app.log,
    () => {
      // the files were just read and found good; their dates are what /metrics reports now
      tlsExpiry.update(readTlsContext(tls));
      const ended = connections.expireCertificateConnections();
      if (ended > 0)
        app.log.info({ connections: ended }, 'connections with client certificates closed after the reload');
    },
    config.tls.sessionCacheSize,
  );
  const expiry = every(
    config.locks.expiryIntervalSeconds * 1000,
    () => expireOnce(store),
    jobFailed('lease expiry failed'),
  );
  const retention = every(
    EVENT_EXPIRY_INTERVAL_MS,
    () => expireEventsOnce(store, config.events),
    jobFailed('event expiry failed'),
  );
  const staleScan = every(
    config.locks.staleScanIntervalSeconds * 1000,
    () => reportStaleOnce(store, config.locks.staleAfterSeconds * 1000),
    jobFailed('stale scan failed'),
  );
  const delivery =
    config.webhooks.targets.length > 0
      ? every(
          config.webhooks.pollIntervalSeconds * 1000,
          () => webhooks.runOnce(),
          jobFailed('webhook delivery failed'),
        )
      : undefined;
  const port = (app.server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `https://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  let closing: Promise<void> | undefined;
  const stopJobs = async () => {
    tlsReload.close();
    await Promise.all([
      expiry.stop(),
      retention.stop(),
      staleScan.stop(),
      delivery?.stop(),
      heartbeat.stop(),
    ]);
    await webhooks.close();
  };
  return {
    app,
    store,
    url,
    port,
    tls,
    admin,
    reloadTls: tlsReload.reload,
    // Stop accepting, let what is in flight finish within the grace, then close every connection.
    close: () =>
      (closing ??= stopJobs()
        .then(() => connections.shutdown(app.close()))
        .then(() => store.close())),
  };
}
