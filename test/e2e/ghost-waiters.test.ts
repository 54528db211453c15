// An instance dies with a host blocked in `?wait=60`: its queue entry must not hold the lock up
// for everyone else until that deadline (SPEC section 8). PostgreSQL: two real server processes,
// the waiter's instance is killed with -9, and the lock is granted through the other one within
// the heartbeat timeout. SQLite: the server is killed with -9 and restarted on the same file; the
// restarted server is the only one on the file, so earlier runs' waiters are gone at once.
import { afterAll, describe, expect, it } from 'vitest';
import { querySql } from '../support/db-sql.js';
import { httpsRequest } from '../support/http.js';
import { testPki, type TestPki } from '../support/pki.js';
import { serverEnv, startServerProcess, type ServerProcess } from '../support/process.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';

const ADMIN_PASSWORD = 'ghost-waiter-admin';
/** short heartbeats for the test; (whole seconds in the environment); the defaults are 5 s and 15 s */
const TIMING = {
  KEYHOLDER_LOCKS_INSTANCE_HEARTBEAT_SECONDS: '1',
  KEYHOLDER_LOCKS_INSTANCE_TIMEOUT_SECONDS: '3',
  KEYHOLDER_LOCKS_EXPIRY_INTERVAL_SECONDS: '1',
};

async function waitersOf(db: TestDatabase, lock: string): Promise<number> {
  const rows = await querySql<{ n: number }>(
    db,
    'SELECT COUNT(*) AS n FROM lock_waiters w JOIN locks l ON l.id = w.lock_id WHERE l.name = ?',
    [lock],
  );
  return Number(rows[0]?.n ?? 0);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('ghost waiters of a killed instance', () => {
  let pki: TestPki;
  const servers: ServerProcess[] = [];
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const db of dbs) await db.dispose();
  });

  const put = async (server: ServerProcess, host: string, path: string) =>
    httpsRequest(server.url, pki.ca.certPem, 'PUT', path, { cert: await pki.host(host) });
  const del = async (server: ServerProcess, host: string, path: string) =>
    httpsRequest(server.url, pki.ca.certPem, 'DELETE', path, { cert: await pki.host(host) });
  /** a blocking acquire that is left hanging; its connection dies with the server */
  const blockedAcquire = (server: ServerProcess, host: string, lock: string) =>
    void put(server, host, `/api/dlmlocks/${lock}/lock?wait=60`).catch(() => undefined);

  it('PostgreSQL: the lock is granted through the other instance within the heartbeat timeout', async () => {
    pki = await testPki();
    const db = await createTestDatabase('postgres');
    dbs.push(db);
    const env = { ...serverEnv(db, pki, ADMIN_PASSWORD), ...TIMING };
    const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    servers.push(a!, b!);
    expect((await put(b!, 'ghost-holder', '/api/dlmlocks/ghost-pg/lock')).status).toBe(200);
    blockedAcquire(a!, 'ghost-waiter', 'ghost-pg');
    await until('the waiter to be queued', async () => (await waitersOf(db, 'ghost-pg')) === 1);
    await a!.kill9();
    expect((await del(b!, 'ghost-holder', '/api/dlmlocks/ghost-pg/lock')).status).toBe(200);
    // Right after the kill the queue entry still counts (its instance's lease is fresh) …
    const started = Date.now();
    const first = await put(b!, 'ghost-newcomer', '/api/dlmlocks/ghost-pg/lock');
    let granted = first;
    while (granted.status !== 200 && Date.now() - started < 15_000) {
      expect(granted.status, granted.text).toBe(412);
      expect(granted.headers['x-lock-reason']).toBe('queued');
      await new Promise((r) => setTimeout(r, 200));
      granted = await put(b!, 'ghost-newcomer', '/api/dlmlocks/ghost-pg/lock');
    }
    // … and is gone once the lease ran out: long before the waiter's 60 s deadline.
    expect(granted.status, granted.text).toBe(200);
    expect(Date.now() - started).toBeLessThan(15_000);
    await until('the ghost to leave the queue', async () => (await waitersOf(db, 'ghost-pg')) === 0);
  }, 60_000);

  it('SQLite: after kill -9 and a restart, the lock is free for the next host at once', async () => {
    pki ??= await testPki();
    const db = await createTestDatabase('sqlite');
    dbs.push(db);
    // The default 15 s timeout: what clears the queue here is the restart, not the lease.
    const env = serverEnv(db, pki, ADMIN_PASSWORD);
    const first = await startServerProcess(env);
    expect((await put(first, 'ghost-holder', '/api/dlmlocks/ghost-lite/lock')).status).toBe(200);
    blockedAcquire(first, 'ghost-waiter', 'ghost-lite');
    await until('the waiter to be queued', async () => (await waitersOf(db, 'ghost-lite')) === 1);
    await first.kill9();
    const second = await startServerProcess(env);
    servers.push(second);
    expect(await waitersOf(db, 'ghost-lite')).toBe(0);
    expect((await del(second, 'ghost-holder', '/api/dlmlocks/ghost-lite/lock')).status).toBe(200);
    const next = await put(second, 'ghost-newcomer', '/api/dlmlocks/ghost-lite/lock');
    expect(next.status, next.text).toBe(200);
  }, 60_000);
});
