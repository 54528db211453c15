// PostgreSQL faults under a light lock load, against a real server process (issue 9, SPEC
// section 8): every keyholder backend terminated, `pg_ctl restart -m fast`, and the database
// stopped (`fast`, then `immediate`) and started again. The process must stay alive, answer
// only 200/412/503 (503 with Retry-After; never a 500), say "not ready" while the database is
// down and ready after, log each outage once (not once per request) and its end once, and the
// LISTEN connection must say when it lost and regained its connection. A cluster of its own,
// so the shared one stays up for the other tests.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsRequest, type TestResponse } from '../support/http.js';
import { testPki, type TestPki } from '../support/pki.js';
import { startPgCluster, type PgCluster } from '../support/postgres.js';
import { serverEnv, startServerProcess, type ServerProcess } from '../support/process.js';

const ADMIN_PASSWORD = 'database-faults-admin';
const CLIENTS = 4;
const OUTAGE_LINE = /database unavailable/g;
const RECOVERY_LINE = /database available again/g;

describe('PostgreSQL faults under load (real server process)', () => {
  let cluster: PgCluster;
  let pki: TestPki;
  let server: ServerProcess;
  const agents: https.Agent[] = [];
  beforeAll(async () => {
    pki = await testPki();
    cluster = await startPgCluster();
    cluster.psql('CREATE DATABASE keyholder');
    server = await startServerProcess({
      ...serverEnv({ url: cluster.url('keyholder'), dataDir: '/nonexistent' }, pki, ADMIN_PASSWORD),
      // info: the recovery lines are info; the outage line is an error
      KEYHOLDER_LOG_LEVEL: 'info',
      KEYHOLDER_DATABASE_CONNECT_TIMEOUT_SECONDS: '2',
    });
    for (let i = 0; i < CLIENTS; i++) agents.push(new https.Agent({ keepAlive: true, maxSockets: 1 }));
  }, 60_000);
  afterAll(async () => {
    for (const a of agents) a.destroy();
    await server?.stop();
    cluster?.stop();
  });

  const statuses = new Map<number, number>();
  const badAnswers: string[] = [];
  let running = false;
  let loops: Promise<void>[] = [];

  const call = async (i: number, method: string, path: string): Promise<TestResponse> =>
    httpsRequest(server.url, pki.ca.certPem, method, path, {
      cert: await pki.host(`fault-host${i}`),
      agent: agents[i],
    });
  const readyz = () => httpsRequest(server.url, pki.ca.certPem, 'GET', '/readyz');
  const record = (r: TestResponse) => {
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    if (![200, 412, 503].includes(r.status)) badAnswers.push(`${r.status} ${r.text}`);
    if (r.status === 503 && !r.headers['retry-after']) badAnswers.push(`503 without Retry-After: ${r.text}`);
  };
  /** A few hosts looping acquire/release on a lock shared in pairs (so some answers are 412). */
  const startLoad = () => {
    running = true;
    loops = Array.from({ length: CLIENTS }, async (_, i) => {
      const path = `/api/dlmlocks/fault-lock-${i % 2}/lock`;
      while (running) {
        record(await call(i, 'PUT', path));
        record(await call(i, 'DELETE', path));
      }
    });
  };
  const stopLoad = async () => {
    running = false;
    await Promise.all(loops);
  };
  const count = (re: RegExp, from: number) => (server.output().slice(from).match(re) ?? []).length;
  const eventually = async (what: string, check: () => Promise<boolean> | boolean, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${server.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** the load succeeds again and the log says the outage is over */
  const recovered = async (from: number) => {
    const okBefore = statuses.get(200) ?? 0;
    await eventually('lock requests to succeed again', () => (statuses.get(200) ?? 0) > okBefore + 10);
    await eventually('the recovery log line', () => count(RECOVERY_LINE, from) >= 1);
    expect((await readyz()).status).toBe(200);
  };
  const alive = () => expect(server.proc.exitCode, server.output().slice(-3000)).toBeNull();

  it('survives every keyholder backend being terminated, and logs the outage once', async () => {
    // a blocking acquire opens the LISTEN connection, so its loss and return are seen too
    const holder = await call(0, 'PUT', '/api/dlmlocks/fault-listen/lock');
    expect(holder.status).toBe(200);
    expect((await call(1, 'PUT', '/api/dlmlocks/fault-listen/lock?wait=1')).status).toBe(412);
    startLoad();
    await eventually('load to run', () => (statuses.get(200) ?? 0) > 20);
    const mark = server.output().length;
    cluster.psql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'keyholder' AND pid <> pg_backend_pid()",
    );
    await recovered(mark);
    await eventually('the LISTEN connection to come back', () =>
      /change notifications restored/.test(server.output().slice(mark)),
    );
    await stopLoad();
    alive();
    expect(server.output().slice(mark)).toMatch(/change notifications lost/);
    expect(count(OUTAGE_LINE, mark)).toBe(1);
    expect(badAnswers).toEqual([]);
  }, 60_000);

  it('survives pg_ctl restart -m fast under load', async () => {
    startLoad();
    const mark = server.output().length;
    await cluster.restart('fast');
    await recovered(mark);
    await stopLoad();
    alive();
    expect(count(OUTAGE_LINE, mark)).toBe(1);
    expect(badAnswers).toEqual([]);
  }, 60_000);

  it.each(['fast', 'immediate'] as const)(
    'answers 503 and is not ready while PostgreSQL is down (stop -m %s), then recovers by itself',
    async (mode) => {
      startLoad();
      const mark = server.output().length;
      const unavailableBefore = statuses.get(503) ?? 0;
      cluster.halt(mode);
      await eventually(
        'requests to be answered 503',
        () => (statuses.get(503) ?? 0) > unavailableBefore + 20,
      );
      const notReady = await readyz();
      expect(notReady.status).toBe(503);
      expect(notReady.headers['retry-after']).toBeDefined();
      // many failed requests, one line
      expect(count(OUTAGE_LINE, mark)).toBe(1);
      cluster.start();
      await recovered(mark);
      await stopLoad();
      alive();
      expect(count(OUTAGE_LINE, mark)).toBe(1);
      expect(server.output()).not.toMatch(/unhandled error|Unhandled 'error' event/);
      expect(badAnswers).toEqual([]);
    },
    60_000,
  );
});
