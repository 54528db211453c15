// The database goes away under a running server (PostgreSQL killed, then restarted with crash
// recovery): requests meanwhile get a clear 503 — never a 500, never a crash — and every
// acquire acknowledged before is still held afterwards. A cluster of its own, so the shared
// one stays up for the other tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { httpsRequest } from '../support/http.js';
import { testPki, type TestPki } from '../support/pki.js';
import { startPgCluster, type PgCluster } from '../support/postgres.js';

const ADMIN: [string, string] = ['admin', 'restart-test-admin'];

describe('PostgreSQL restarting under a running server', () => {
  let cluster: PgCluster;
  let server: RunningServer;
  let pki: TestPki;
  beforeAll(async () => {
    pki = await testPki();
    cluster = await startPgCluster();
    cluster.psql('CREATE DATABASE keyholder');
    server = await startServer(
      loadConfig({
        env: {},
        flags: {
          host: '127.0.0.1',
          port: 0,
          database: { url: cluster.url('keyholder') },
          tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath },
          adminPassword: ADMIN[1],
          log: { level: 'silent' },
        },
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    cluster?.stop();
  });

  const call = async (host: string, method: string, path: string) =>
    httpsRequest(`https://127.0.0.1:${server.port}`, pki.ca.certPem, method, path, {
      cert: await pki.host(host),
    });

  it('answers 503 while the database is down and keeps every acknowledged acquire', async () => {
    const held: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await call(`db-host${i}`, 'PUT', `/api/dlmlocks/survivor-${i}/lock`);
      expect(r.status).toBe(200);
      held.push(`survivor-${i}`);
    }
    cluster.crash();
    const during = await Promise.all([
      call('db-host0', 'PUT', '/api/dlmlocks/survivor-0/lock'),
      call('db-host99', 'PUT', '/api/dlmlocks/new-during-outage/lock'),
      call('db-host1', 'DELETE', '/api/dlmlocks/survivor-1/lock'),
      httpsRequest(`https://127.0.0.1:${server.port}`, pki.ca.certPem, 'GET', '/readyz'),
    ]);
    for (const r of during) {
      expect(r.status, r.text).toBe(503);
      expect(r.json.error.message).toMatch(/unavailable|database/i);
    }
    cluster.start();
    // the pool reconnects by itself; the first requests after the restart may still see 503
    let after = await call('db-host99', 'PUT', '/api/dlmlocks/survivor-0/lock');
    for (let i = 0; i < 50 && after.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await call('db-host99', 'PUT', '/api/dlmlocks/survivor-0/lock');
    }
    // still held by its host from before the crash: another host is refused
    expect(after.status).toBe(412);
    for (const [i, name] of held.entries()) {
      const show = await call(`db-host${i}`, 'GET', `/api/dlmlocks/${name}/lock`);
      expect(show.json.host, name).toEqual({ name: `db-host${i}`, self: true });
    }
    expect((await call('db-host99', 'PUT', '/api/dlmlocks/new-after-outage/lock')).status).toBe(200);
  });
});
