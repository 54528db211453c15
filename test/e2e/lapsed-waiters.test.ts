// A blocking acquire whose retry fails because PostgreSQL is down answers 503 — and must not
// keep its place in the queue until its deadline: its queue row belongs to a live instance, so
// every host behind it would be refused for as long as the dead request had asked to wait.
// The entry goes as soon as the database answers again. PostgreSQL only: a SQLite file cannot
// be taken away from a running server like this. A cluster of its own (it is stopped midway),
// the server in process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { httpsRequest, type TestResponse } from '../support/http.js';
import { testPki, type TestPki } from '../support/pki.js';
import { startPgCluster, type PgCluster } from '../support/postgres.js';

const PATH = '/api/dlmlocks/lapse/lock';

describe('a blocking waiter whose retry fails while PostgreSQL is down (PostgreSQL)', () => {
  let cluster: PgCluster;
  let pki: TestPki;
  let server: RunningServer;
  beforeAll(async () => {
    pki = await testPki();
    cluster = await startPgCluster();
    cluster.psql('CREATE DATABASE keyholder');
    const config = loadConfig({
      env: {},
      flags: {
        dataDir: '/nonexistent',
        host: '127.0.0.1',
        port: 0,
        database: { url: cluster.url('keyholder'), connectTimeoutSeconds: 2 },
        tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath },
        adminPassword: 'lapsed-waiters-admin',
        log: { level: 'silent' },
      },
    });
    server = await startServer(config);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    cluster?.stop();
  });

  const asHost = async (name: string, method: string, path: string): Promise<TestResponse> =>
    httpsRequest(`https://127.0.0.1:${server.port}`, pki.ca.certPem, method, path, {
      cert: await pki.host(name),
    });
  const queued = () => Number(cluster.psql('SELECT count(*) FROM lock_waiters', 'keyholder').trim());
  const eventually = async (what: string, check: () => Promise<boolean> | boolean, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('leaves the queue once the database is back, so the next host is not held up', async () => {
    expect((await asHost('keeper', 'PUT', PATH)).status).toBe(200);
    // asks to wait far longer than the test runs: before the fix its entry outlived the test
    const first = asHost('waiter-1', 'PUT', `${PATH}?wait=60`);
    await eventually('the first waiter to queue', () => queued() === 1);
    cluster.halt('fast');
    // Its next attempt (the periodic re-check of the head of the queue, within 10 s) finds the
    // database down: the request ends with 503.
    const failed = await first;
    expect(failed.status, failed.text).toBe(503);
    cluster.start();
    await eventually(
      'the holder to release',
      async () => (await asHost('keeper', 'DELETE', PATH)).status === 200,
    );
    // The lock is free; the only entry before this host's is the dead request's.
    const next = await asHost('waiter-2', 'PUT', `${PATH}?wait=5`);
    expect(next.status, next.text).toBe(200);
    expect(next.json.host.name).toBe('waiter-2');
    expect(queued()).toBe(0);
  }, 60_000);
});
