// Health gates end to end, on every store: real local HTTP servers stand in for Prometheus,
// Alertmanager and a health endpoint. Each outcome, timeouts and refused connections, the
// cache (many polling hosts, one upstream query), holders refreshing without checks, blocking
// acquires granted once a gate turns green, FleetLock's and foreman_dlm's refusals, events
// once per change, and secrets that never leave the config.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, startGateUpstreams, type GateUpstreams } from '../support/gate-upstreams.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

const TOKEN = 'prom-bearer-s3cret-7f1c9';
const PASSWORD = 'am-basic-pa55word-2b8e';
const FOREMAN_412 = (id: number) =>
  `{"error":{"id":${id},"message":"Precondition failed. Lock is in invalid state for this operation."}}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(STORES)('health gates on %s', (kind) => {
  let s: TestServer;
  let up: GateUpstreams;
  let refused: number;
  const log: string[] = [];

  beforeAll(async () => {
    up = await startGateUpstreams();
    refused = await closedPort();
    const dir = mkdtempSync(join(tmpdir(), 'keyholder-gates-'));
    writeFileSync(join(dir, 'am-password'), `${PASSWORD}\n`);
    s = await startTestServer(
      kind,
      {
        log: { level: 'debug' },
        fleetlock: { groups: { gated: {} } },
        gates: {
          credentials: {
            prom: { bearerToken: TOKEN },
            am: { basicAuth: { username: 'gates', passwordFile: join(dir, 'am-password') } },
          },
        },
      },
      { logStream: { write: (line: string) => void log.push(line) } },
    );
  });
  afterAll(async () => {
    await s?.close();
    await up?.close();
  });

  const acquire = (host: string, lock: string, query = '') =>
    s.asHost(host, 'PUT', `/api/dlmlocks/${lock}/lock${query}`);
  const create = (name: string, gates: unknown[], extra: Record<string, unknown> = {}) =>
    s.asAdmin('POST', '/api/dlmlocks', { body: { dlmlock: { name, gates, ...extra } } });
  const gateEvents = async (lock: string) =>
    (await s.asAdmin('GET', `/api/dlmlocks/${lock}/dlmlock_events?per_page=1000`)).json.results
      .filter((e: { event_type: string }) => e.event_type === 'gate')
      .map((e: { detail: string }) => e.detail)
      .reverse();
  const series = (name: string, n: number) => ({
    resultType: 'vector',
    result: Array.from({ length: n }, (_, i) => ({
      metric: { __name__: name, i: String(i) },
      value: [0, '1'],
    })),
  });

  it('refuses bad gate definitions and unknown credentials with a 422 naming the gate', async () => {
    const bad = await create('gates-bad', [{ name: 'x', type: 'http', url: 'file:///etc/passwd' }]);
    expect(bad.status).toBe(422);
    expect(bad.json.error.errors.gates.join(' ')).toContain('http:// or https://');
    const unknown = await create('gates-bad', [
      { name: 'x', type: 'http', url: `${up.url}/health`, credentials: 'nope' },
    ]);
    expect(unknown.status).toBe(422);
    expect(unknown.json.error.errors.gates[0]).toContain("credentials 'nope' are not defined");
    const inUrl = await create('gates-bad', [
      { name: 'x', type: 'http', url: `http://u:${TOKEN}@127.0.0.1/` },
    ]);
    expect(inUrl.status).toBe(422);
    expect((await s.asAdmin('GET', '/api/dlmlocks/gates-bad')).status).toBe(404);
  });

  it('prometheus "empty": series firing refuse with 412 (foreman body byte-exact, X-Lock-Gate), none admit', async () => {
    const query = `ALERTS{alertstate="firing",kh="${kind}"}`;
    up.prometheus.set(query, series('ALERTS', 2));
    const c = await create('prom-empty', [
      {
        name: 'no-critical-alerts',
        type: 'prometheus',
        url: up.url,
        query,
        expect: 'empty',
        cache_seconds: 0,
        credentials: 'prom',
      },
    ]);
    expect(c.status).toBe(201);
    expect(c.json.gates[0]).toMatchObject({
      name: 'no-critical-alerts',
      credentials: 'prom',
      cache_seconds: 0,
    });
    for (let i = 0; i < 3; i++) {
      const r = await acquire('pe1', 'prom-empty');
      expect(r.status).toBe(412);
      expect(r.text).toBe(FOREMAN_412(c.json.id));
      expect(r.headers['x-lock-reason']).toBe('gate_failed');
      expect(r.headers['x-lock-gate']).toBe('no-critical-alerts: 2 series');
    }
    up.prometheus.set(query, series('ALERTS', 0));
    const ok = await acquire('pe1', 'prom-empty');
    expect(ok.status).toBe(200);
    expect(up.authorizations).toContain(`Bearer ${TOKEN}`);
    // three failing polls, one change each way: two events
    expect(await gateEvents('prom-empty')).toEqual([
      'no-critical-alerts: failed: 2 series',
      'no-critical-alerts: passed: no series',
    ]);
    const shown = await s.asAdmin('GET', '/api/dlmlocks/prom-empty');
    expect(shown.json.gate_status).toEqual([
      {
        name: 'no-critical-alerts',
        ok: true,
        detail: 'no series',
        checked_at: expect.stringMatching(/UTC$/),
      },
    ]);
  });

  it('prometheus threshold on a single sample, and a failing query', async () => {
    const query = `error_ratio_${kind}`;
    up.prometheus.set(query, { resultType: 'vector', result: [{ metric: {}, value: [0, '0.2'] }] });
    await create('prom-ratio', [
      {
        name: 'errors',
        type: 'prometheus',
        url: up.url,
        query,
        expect: { op: '<', value: 0.05 },
        cache_seconds: 0,
      },
    ]);
    const r = await acquire('pr1', 'prom-ratio');
    expect(r.headers['x-lock-gate']).toBe('errors: 0.2 not < 0.05');
    up.prometheus.set(query, { resultType: 'scalar', result: [0, '0.01'] });
    expect((await acquire('pr1', 'prom-ratio')).status).toBe(200);
    await create('prom-broken', [
      {
        name: 'broken',
        type: 'prometheus',
        url: up.url,
        query: 'nobody(',
        expect: 'empty',
        cache_seconds: 0,
      },
    ]);
    const broken = await acquire('pr2', 'prom-broken');
    expect(broken.status).toBe(412);
    expect(broken.headers['x-lock-gate']).toBe('broken: query failed (HTTP 400): parse error');
  });

  it('alertmanager: silenced and inhibited alerts are ignored, an active matching one refuses', async () => {
    const cluster = `db-${kind}`;
    up.alerts.push(
      { labels: { alertname: 'DiskFull', severity: 'critical', cluster }, silenced: true },
      { labels: { alertname: 'Replica', severity: 'critical', cluster }, inhibited: true },
      { labels: { alertname: 'Slow', severity: 'warning', cluster } },
    );
    await create('am', [
      {
        name: 'am-critical',
        type: 'alertmanager',
        url: up.url,
        matchers: ['severity=critical', `cluster=~"db-${kind}"`],
        cache_seconds: 0,
        credentials: 'am',
      },
    ]);
    expect((await acquire('am1', 'am')).status).toBe(200);
    await s.asHost('am1', 'DELETE', '/api/dlmlocks/am/lock');
    up.alerts.push({ labels: { alertname: 'Down', severity: 'critical', cluster } });
    const r = await acquire('am1', 'am');
    expect(r.status).toBe(412);
    expect(r.headers['x-lock-gate']).toBe('am-critical: 1 alert: Down');
    expect(up.authorizations).toContain(`Basic ${Buffer.from(`gates:${PASSWORD}`).toString('base64')}`);
  });

  it('http: 2xx and body_regex pass; another status, a body mismatch, a timeout and a refused connection fail', async () => {
    up.health = { status: 200, body: 'status: ok', delayMs: 0 };
    const gate = (over: Record<string, unknown>) => ({
      name: 'up',
      type: 'http',
      url: `${up.url}/health`,
      cache_seconds: 0,
      ...over,
    });
    await create('http-ok', [gate({ body_regex: 'status: ok' })]);
    expect((await acquire('h1', 'http-ok')).status).toBe(200);
    await create('http-regex', [gate({ body_regex: '^healthy$' })]);
    expect((await acquire('h1', 'http-regex')).headers['x-lock-gate']).toBe(
      'up: HTTP 200, body does not match body_regex',
    );
    up.health = { status: 503, body: 'down', delayMs: 0 };
    await create('http-503', [gate({})]);
    expect((await acquire('h1', 'http-503')).headers['x-lock-gate']).toBe('up: HTTP 503');
    up.health = { status: 200, body: 'ok', delayMs: 3000 };
    await create('http-slow', [gate({ timeout_seconds: 0.3 })]);
    expect((await acquire('h1', 'http-slow')).headers['x-lock-gate']).toBe('up: timed out after 0.3 s');
    await create('http-refused', [gate({ url: `http://127.0.0.1:${refused}/health` })]);
    expect((await acquire('h1', 'http-refused')).headers['x-lock-gate']).toBe(
      'up: unreachable: ECONNREFUSED',
    );
    up.health = { status: 200, body: 'ok', delayMs: 0 };
  });

  it('checkins: a share of the members (hosts that acquired the lock) must have checked in lately', async () => {
    await create('fleet-checkins', [
      { name: 'fleet', type: 'checkins', min: '50%', within_seconds: 1, cache_seconds: 0 },
    ]);
    // no members yet: 50 % of none is none
    expect((await acquire('m1', 'fleet-checkins')).status).toBe(200);
    await s.asHost('m1', 'DELETE', '/api/dlmlocks/fleet-checkins/lock');
    await sleep(2100);
    const r = await acquire('m2', 'fleet-checkins');
    expect([r.status, r.headers['x-lock-gate']]).toEqual([
      412,
      'fleet: 0 of 1 members checked in within 1 s, need 1 (50 %)',
    ]);
    await s.asHost('m1', 'GET', '/api/dlmlocks/fleet-checkins/lock');
    expect((await acquire('m2', 'fleet-checkins')).status).toBe(200);
  });

  it('many polling hosts cause one upstream query per cache period; a holder refreshes without a check', async () => {
    const query = `cached_${kind}`;
    up.prometheus.set(query, series('x', 1));
    await create(
      'cached',
      [{ name: 'c', type: 'prometheus', url: up.url, query, expect: 'empty', cache_seconds: 3600 }],
      {
        max_holders: 50,
      },
    );
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => acquire(`poll${i}`, 'cached')));
      expect(answers.map((a) => a.status)).toEqual(Array(12).fill(412));
    }
    expect(up.count(`/api/v1/query?${query}`)).toBe(1);

    // a holder's refresh and release never ask the upstream, even when the gate would fail
    const q2 = `refresh_${kind}`;
    up.prometheus.set(q2, series('x', 0));
    await create(
      'refresh',
      [{ name: 'r', type: 'prometheus', url: up.url, query: q2, expect: 'empty', cache_seconds: 0 }],
      {
        max_holders: 2,
      },
    );
    expect((await acquire('rf1', 'refresh')).status).toBe(200);
    const asked = up.count(`/api/v1/query?${q2}`);
    up.prometheus.set(q2, series('x', 3));
    for (let i = 0; i < 3; i++) expect((await acquire('rf1', 'refresh')).status).toBe(200);
    expect(up.count(`/api/v1/query?${q2}`)).toBe(asked);
    // a newcomer is checked; a lock that is full refuses before any gate is asked
    expect((await acquire('rf2', 'refresh')).headers['x-lock-gate']).toBe('r: 3 series');
    expect(up.count(`/api/v1/query?${q2}`)).toBe(asked + 1);
    await s.asAdmin('PUT', '/api/dlmlocks/refresh', { body: { max_holders: 1 } });
    expect((await acquire('rf3', 'refresh')).headers['x-lock-reason']).toBe('held');
    expect(up.count(`/api/v1/query?${q2}`)).toBe(asked + 1);
    expect((await s.asHost('rf1', 'DELETE', '/api/dlmlocks/refresh/lock')).status).toBe(200);
    expect(up.count(`/api/v1/query?${q2}`)).toBe(asked + 1);
  });

  it('a blocking acquire keeps waiting while a gate fails and is granted once it passes', async () => {
    const query = `blocking_${kind}`;
    up.prometheus.set(query, series('x', 1));
    await create('blocking', [
      { name: 'b', type: 'prometheus', url: up.url, query, expect: 'empty', cache_seconds: 0 },
    ]);
    const started = Date.now();
    const pending = acquire('bw1', 'blocking', '?wait=20');
    await sleep(1000);
    const during = up.count(`/api/v1/query?${query}`);
    expect(during).toBeGreaterThan(1);
    up.prometheus.set(query, series('x', 0));
    const r = await pending;
    expect(r.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(15_000);
    // and one that runs out of time while the gate fails gets the gate in its 412
    up.prometheus.set(query, series('x', 2));
    const late = await acquire('bw2', 'blocking', '?wait=1');
    expect(late.status).toBe(412);
  });

  it('FleetLock answers a failed gate with its {kind, value} error', async () => {
    await create('fleetlock-gated', [
      { name: 'fl', type: 'http', url: `${up.url}/health`, cache_seconds: 0 },
    ]);
    up.health = { status: 503, body: 'down', delayMs: 0 };
    const r = await s.request('POST', '/v1/pre-reboot', {
      body: { client_params: { id: 'node-1', group: 'gated' } },
      noContentType: true,
      headers: { 'fleet-lock-protocol': 'true' },
    });
    expect(r.status).toBe(409);
    expect(r.json).toEqual({ kind: 'gate_failed', value: 'fl: HTTP 503' });
    up.health = { status: 200, body: 'ok', delayMs: 0 };
    const ok = await s.request('POST', '/v1/pre-reboot', {
      body: { client_params: { id: 'node-1', group: 'gated' } },
      noContentType: true,
      headers: { 'fleet-lock-protocol': 'true' },
    });
    expect(ok.status).toBe(200);
  });

  it('gates can be replaced and cleared by an update; gate checks are in /metrics', async () => {
    const u = await s.asAdmin('PUT', '/api/dlmlocks/http-503', { body: { gates: [] } });
    expect(u.json.gates).toEqual([]);
    expect((await acquire('h9', 'http-503')).status).toBe(200);
    const metrics = await s.request('GET', '/metrics');
    expect(metrics.text).toMatch(
      /keyholder_gate_checks_total\{lock="prom-empty",gate="no-critical-alerts",outcome="fail"\} [1-9]/,
    );
    expect(metrics.text).toContain('keyholder_gate_check_duration_seconds_bucket{le="0.005",type="http"}');
  });

  it('secrets never appear in the API, events or the log', async () => {
    const everything = [
      (await s.asAdmin('GET', '/api/dlmlocks?per_page=1000')).text,
      (await s.asAdmin('GET', '/api/events?per_page=1000')).text,
      log.join(''),
    ].join('\n');
    expect(everything).toContain('no-critical-alerts');
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(Buffer.from(`gates:${PASSWORD}`).toString('base64'));
  });
});
