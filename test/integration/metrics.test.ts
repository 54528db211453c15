// /metrics: Prometheus text with request counts per route pattern (never per lock name) and the
// lock table's state, the same from every store.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../support/stores.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ageHolders, untilWaiters } from '../support/db-sql.js';

function value(text: string, metric: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${metric} `) || l.startsWith(`${metric}{`));
  if (!line) throw new Error(`no ${metric} in:\n${text}`);
  return Number(line.split(' ').at(-1));
}

describe.each(STORES)('metrics on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  it('reports locks, holders, stale locks, waiters, hosts and events', async () => {
    await s.asAdmin('POST', '/api/dlmlocks', { body: { name: 'sem', max_holders: 3 } });
    await s.asHost('m1', 'PUT', '/api/dlmlocks/sem/lock');
    await s.asHost('m2', 'PUT', '/api/dlmlocks/sem/lock');
    await s.asHost('m3', 'PUT', '/api/dlmlocks/single/lock');
    await s.asHost('m3', 'DELETE', '/api/dlmlocks/free/lock');
    await ageHolders(s.db, 'single', 5 * 3600_000);
    const waiting = s.asHost('m4', 'PUT', '/api/dlmlocks/single/lock?wait=30');
    await untilWaiters(s.db, 1);

    const r = await s.request('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(value(r.text, 'keyholder_locks')).toBe(3);
    expect(value(r.text, 'keyholder_locks_held')).toBe(2);
    expect(value(r.text, 'keyholder_lock_holders')).toBe(3);
    expect(value(r.text, 'keyholder_locks_stale')).toBe(1);
    expect(value(r.text, 'keyholder_lock_waiters')).toBe(1);
    expect(value(r.text, 'keyholder_hosts')).toBe(4);
    expect(value(r.text, 'keyholder_lock_events')).toBeGreaterThanOrEqual(6);
    expect(value(r.text, 'keyholder_webhooks_failing')).toBe(0);
    expect(r.text).toContain('process_cpu_user_seconds_total');

    await s.asHost('m3', 'DELETE', '/api/dlmlocks/single/lock');
    expect((await waiting).status).toBe(200);
  });

  it('counts requests by route pattern and status, never by lock name', async () => {
    await s.asHost('m5', 'PUT', '/api/dlmlocks/secret-name/lock');
    await s.asHost('m6', 'PUT', '/api/dlmlocks/secret-name/lock');
    // held locks are named in keyholder_lock_held_seconds (metrics-operations.test.ts); free ones never
    await s.asHost('m5', 'DELETE', '/api/dlmlocks/secret-name/lock');
    const r = await s.request('GET', '/metrics');
    expect(r.text).not.toContain('secret-name');
    expect(r.text).toMatch(
      /keyholder_http_requests_total\{method="PUT",route="\/api\/dlmlocks\/:id\/lock",status="412"\} [1-9]/,
    );
    expect(r.text).toMatch(
      /keyholder_http_request_duration_seconds_bucket\{le="[^"]+",method="PUT",route="\/api\/dlmlocks\/:id\/lock"\}/,
    );
  });

  it('names the version and the instance in keyholder_build_info (default host name:port)', async () => {
    const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
    const r = await s.request('GET', '/metrics');
    const port = new URL(s.url).port;
    expect(r.text).toContain(
      `keyholder_build_info{version="${version}",instance="${hostname()}:${port}"} 1\n`,
    );
    const named = await startTestServer(kind, { instanceId: 'kh-eu-1' });
    try {
      const text = (await named.request('GET', '/metrics')).text;
      expect(text.split('\n').filter((l) => l.startsWith('keyholder_build_info{'))).toEqual([
        `keyholder_build_info{version="${version}",instance="kh-eu-1"} 1`,
      ]);
    } finally {
      await named.close();
    }
  });
});
