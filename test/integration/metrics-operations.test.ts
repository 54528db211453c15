// The operational metrics on a real server, on both stores: per-lock series with a bounded
// number of lock names, grants and refusals by reason, database latency and outages, webhook
// failures, the live instances, and when the TLS material runs out. promtool's own lint
// checks the names and the exposition (Prometheus conventions).
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCrl, issueCertificate } from '../../src/pki/x509.js';
import { ageHolders } from '../support/db-sql.js';
import { sampleValue, samples } from '../support/metrics.js';
import { testPki } from '../support/pki.js';
import { freePort, startPgCluster, type PgCluster } from '../support/postgres.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { haveTool, run } from '../support/tools.js';

const HOUR = 3600_000;
const SECRET = 'a-webhook-secret-for-tests';

async function until(what: string, done: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(STORES)('operational metrics on %s', (kind) => {
  let s: TestServer;
  // CRL dates are whole seconds
  const crlNextUpdate = new Date(Math.floor(Date.now() / 1000) * 1000 + 3 * 86_400_000);
  const scrape = async () => {
    const r = await s.request('GET', '/metrics');
    expect(r.status).toBe(200);
    return r.text;
  };
  const fleet = (id: string) =>
    s.request('POST', '/v1/pre-reboot', {
      body: { client_params: { id, group: 'default' } },
      noContentType: true,
      headers: { 'fleet-lock-protocol': 'true', accept: '*/*' },
    });

  let serverCert: string;
  let serverKey: string;
  beforeAll(async () => {
    const pki = await testPki();
    serverCert = join(pki.dir, `server-metrics-${kind}.crt`);
    serverKey = join(pki.dir, `server-metrics-${kind}.key`);
    const crl = join(pki.dir, `crl-metrics-${kind}.pem`);
    writeFileSync(crl, await createCrl(pki.ca, [], { nextUpdate: crlNextUpdate }));
    // its own copies of the server certificate and key: a test below replaces them
    writeFileSync(serverCert, readFileSync(pki.serverCertPath));
    writeFileSync(serverKey, readFileSync(pki.serverKeyPath));
    s = await startTestServer(kind, {
      tls: { cert: serverCert, key: serverKey, ca: pki.caPath, crl },
      metrics: { maxLockLabels: 2 },
      // nothing listens there: every delivery fails, and the second attempt gives the event up
      webhooks: {
        targets: [{ url: `http://127.0.0.1:${await freePort()}/hook`, secret: SECRET }],
        pollIntervalSeconds: 0.05,
        maxAttempts: 2,
      },
    });
  });
  afterAll(() => s?.close());

  it('names held locks up to metrics.maxLockLabels, stale first, then the longest held', async () => {
    await s.asHost('m1', 'PUT', '/api/dlmlocks/older/lock');
    await s.asHost('m2', 'PUT', '/api/dlmlocks/stuck/lock');
    await s.asHost('m3', 'PUT', '/api/dlmlocks/newest/lock');
    await ageHolders(s.db, 'stuck', 5 * HOUR); // past the default 4 h staleAfter
    await ageHolders(s.db, 'older', 1 * HOUR);

    let text = await scrape();
    expect(sampleValue(text, 'keyholder_lock_stale', { lock: 'stuck' })).toBe(1);
    expect(sampleValue(text, 'keyholder_lock_stale', { lock: 'older' })).toBe(0);
    const stuckFor = sampleValue(text, 'keyholder_lock_held_seconds', { lock: 'stuck' });
    expect(stuckFor).toBeGreaterThanOrEqual(5 * 3600);
    expect(stuckFor).toBeLessThan(5 * 3600 + 120);
    expect(sampleValue(text, 'keyholder_lock_held_seconds', { lock: 'older' })).toBeGreaterThanOrEqual(3600);
    // the cap of 2 leaves the newest out of the per-lock series, not out of the totals
    expect(text).not.toContain('lock="newest"');
    expect(samples(text, 'keyholder_lock_held_seconds')).toHaveLength(2);
    expect(sampleValue(text, 'keyholder_lock_series_omitted')).toBe(1);
    expect(sampleValue(text, 'keyholder_locks_held')).toBe(3);
    expect(sampleValue(text, 'keyholder_locks_stale')).toBe(1);

    // a freed lock leaves the series at once, and the omitted one moves up
    await s.asHost('m2', 'DELETE', '/api/dlmlocks/stuck/lock');
    text = await scrape();
    expect(text).not.toContain('lock="stuck"');
    expect(samples(text, 'keyholder_lock_stale').map((m) => m.labels?.lock)).toEqual(['older', 'newest']);
    expect(sampleValue(text, 'keyholder_lock_series_omitted')).toBe(0);
    await s.asHost('m1', 'DELETE', '/api/dlmlocks/older/lock');
    await s.asHost('m3', 'DELETE', '/api/dlmlocks/newest/lock');
    expect(samples(await scrape(), 'keyholder_lock_held_seconds')).toEqual([]);
  });

  it('counts grants and refusals by API and reason, every series present from the start', async () => {
    const before = await scrape();
    const count = (text: string, name: string, labels: Record<string, string>) =>
      sampleValue(text, name, labels);
    expect(
      count(before, 'keyholder_lock_refusals_total', { api: 'fleetlock', reason: 'outside_window' }),
    ).toBe(0);

    expect((await s.asHost('g1', 'PUT', '/api/dlmlocks/granted/lock')).status).toBe(200);
    expect((await s.asHost('g1', 'PUT', '/api/dlmlocks/granted/lock')).status).toBe(200); // a refresh
    expect((await s.asHost('g2', 'PUT', '/api/dlmlocks/granted/lock')).status).toBe(412);
    await s.asAdmin('POST', '/api/dlmlocks', { body: { name: 'off', enabled: false } });
    expect((await s.asHost('g2', 'PUT', '/api/dlmlocks/off/lock')).status).toBe(412);
    expect((await fleet('node-1')).status).toBe(200);
    expect((await fleet('node-2')).status).toBe(409);
    // releases are neither
    await s.asHost('g1', 'DELETE', '/api/dlmlocks/granted/lock');

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) =>
      count(after, name, labels) - count(before, name, labels);
    expect(delta('keyholder_lock_grants_total', { api: 'dlmlocks' })).toBe(2);
    expect(delta('keyholder_lock_refusals_total', { api: 'dlmlocks', reason: 'held' })).toBe(1);
    expect(delta('keyholder_lock_refusals_total', { api: 'dlmlocks', reason: 'disabled' })).toBe(1);
    expect(delta('keyholder_lock_grants_total', { api: 'fleetlock' })).toBe(1);
    expect(delta('keyholder_lock_refusals_total', { api: 'fleetlock', reason: 'held' })).toBe(1);
    // 2 APIs × 9 reasons
    expect(samples(after, 'keyholder_lock_refusals_total')).toHaveLength(18);
  });

  it('times database calls, reports the live instances and the database as up', async () => {
    const text = await scrape();
    expect(text).toMatch(/^keyholder_database_duration_seconds_count\{operation="write"\} [1-9]/m);
    expect(text).toMatch(/^keyholder_database_duration_seconds_count\{operation="read"\} [1-9]/m);
    expect(text).toMatch(/^keyholder_database_duration_seconds_bucket\{le="0.001",operation="read"\} \d+/m);
    expect(sampleValue(text, 'keyholder_database_errors_total', { operation: 'write' })).toBe(0);
    expect(sampleValue(text, 'keyholder_database_up')).toBe(1);
    expect(sampleValue(text, 'keyholder_instances_alive')).toBe(1);
  });

  it('reports when the server certificate, the CA and the CRL run out', async () => {
    const text = await scrape();
    const notAfter = (pem: string) => Date.parse(new X509Certificate(pem).validTo) / 1000;
    const pki = await testPki();
    expect(
      sampleValue(text, 'keyholder_tls_certificate_expiry_timestamp_seconds', { certificate: 'ca' }),
    ).toBe(notAfter(pki.ca.certPem));
    const server = readFileSync(serverCert, 'utf8');
    expect(
      sampleValue(text, 'keyholder_tls_certificate_expiry_timestamp_seconds', { certificate: 'server' }),
    ).toBe(notAfter(server));
    expect(sampleValue(text, 'keyholder_tls_crl_next_update_timestamp_seconds')).toBe(
      crlNextUpdate.getTime() / 1000,
    );
  });

  it('reports the new certificate after a reload', async () => {
    const pki = await testPki();
    const notAfter = new Date(Math.floor(Date.now() / 1000) * 1000 + 7 * 86_400_000);
    const renewed = await issueCertificate(pki.ca, {
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
      notAfter,
    });
    writeFileSync(serverCert, renewed.certPem);
    writeFileSync(serverKey, renewed.keyPem);
    s.server.reloadTls();
    const text = await scrape();
    expect(
      sampleValue(text, 'keyholder_tls_certificate_expiry_timestamp_seconds', { certificate: 'server' }),
    ).toBe(notAfter.getTime() / 1000);
  });

  it('counts failed webhook POSTs and the events given up', async () => {
    // the locks taken above made events; nothing receives them
    await until('an event given up', async () => {
      const text = await scrape();
      return sampleValue(text, 'keyholder_webhook_events_dropped_total') >= 1;
    });
    const text = await scrape();
    expect(sampleValue(text, 'keyholder_webhook_failures_total')).toBeGreaterThanOrEqual(2);
  });

  it.runIf(haveTool('promtool', 'prometheus'))('passes promtool check metrics', async () => {
    const text = await scrape();
    const result = run('promtool', ['check', 'metrics'], { input: text });
    // prom-client's own Node gauges end in _total (nodejs_active_handles_total): not ours to rename
    const complaints = (result.stdout + result.stderr).split('\n').filter((l) => !l.startsWith('nodejs_'));
    expect(complaints.filter(Boolean)).toEqual([]);
  });
});

// A cluster of its own, stopped and started again, so the shared one stays up.
describe('a PostgreSQL outage in the metrics', () => {
  let cluster: PgCluster;
  let s: TestServer;
  beforeAll(async () => {
    cluster = await startPgCluster();
    cluster.psql('CREATE DATABASE keyholder');
    s = await startTestServer('postgres', {
      database: { url: cluster.url('keyholder'), connectTimeoutSeconds: 2 },
    });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    cluster?.stop();
  });

  it('still answers /metrics, with the database down and the failed calls counted', async () => {
    cluster.halt('fast');
    try {
      expect((await s.asHost('o1', 'PUT', '/api/dlmlocks/outage/lock')).status).toBe(503);
      const r = await s.request('GET', '/metrics');
      expect(r.status).toBe(200);
      expect(sampleValue(r.text, 'keyholder_database_up')).toBe(0);
      expect(
        sampleValue(r.text, 'keyholder_database_errors_total', { operation: 'write' }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      cluster.start();
    }
    await until('the database back', async () => {
      if ((await s.request('GET', '/readyz')).status !== 200) return false;
      return sampleValue((await s.request('GET', '/metrics')).text, 'keyholder_database_up') === 1;
    });
  });
});
