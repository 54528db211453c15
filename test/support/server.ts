// An in-process keyholder over real HTTPS on 127.0.0.1 with test-time certificates, on a
// fresh database of the given kind.
import type { KeyedCert } from '../../src/pki/x509.js';
import { loadConfig } from '../../src/config/load.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/server.js';
import { httpsRequest, type RequestOptions, type TestResponse } from './http.js';
import { testPki, type TestPki } from './pki.js';
import { createTestDatabase, type StoreKind, type TestDatabase } from './stores.js';

export const ADMIN: [string, string] = ['admin', 'admin-password-for-tests'];

export interface TestServer {
  server: RunningServer;
  db: TestDatabase;
  pki: TestPki;
  url: string;
  host(name: string): Promise<KeyedCert>;
  request(method: string, path: string, opts?: RequestOptions): Promise<TestResponse>;
  /** as the named host, with its certificate */
  asHost(name: string, method: string, path: string, opts?: RequestOptions): Promise<TestResponse>;
  asAdmin(method: string, path: string, opts?: RequestOptions): Promise<TestResponse>;
  /** stops the server and starts it again on the same database (a restart) */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestServer(
  kind: StoreKind,
  overrides: Record<string, unknown> = {},
  /** e.g. a log stream to capture */
  options: StartOptions = {},
): Promise<TestServer> {
  const pki = await testPki();
  const db = await createTestDatabase(kind);
  const config = loadConfig({
    env: {},
    flags: {
      dataDir: db.dataDir,
      host: '127.0.0.1',
      port: 0,
      database: { url: db.url },
      tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath },
      adminPassword: ADMIN[1],
      log: { level: 'silent' },
      ...overrides,
    },
  });
  let server = await startServer(config, options);
  const url = () => `https://127.0.0.1:${server.port}`;
  const request = (method: string, path: string, opts: RequestOptions = {}) =>
    httpsRequest(url(), pki.ca.certPem, method, path, opts);
  return {
    get server() {
      return server;
    },
    db,
    pki,
    get url() {
      return url();
    },
    host: (name) => pki.host(name),
    request,
    asHost: async (name, method, path, opts = {}) =>
      request(method, path, { ...opts, cert: await pki.host(name) }),
    asAdmin: (method, path, opts = {}) => request(method, path, { ...opts, user: ADMIN }),
    restart: async () => {
      await server.close();
      server = await startServer(config, options);
    },
    close: async () => {
      await server.close();
      await db.dispose();
    },
  };
}
