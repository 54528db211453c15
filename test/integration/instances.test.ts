// Instance heartbeats at the store level, on every store: a heartbeat registers the instance,
// a clean shutdown takes its row and its queue entries along, and on SQLite only the one server
// that holds the file's server lock clears earlier runs' queue entries — a second process on
// the same file must not sweep away the first one's live waiters.
import { afterEach, describe, expect, it } from 'vitest';
import { LockService } from '../../src/service/locks.js';
import type { Store } from '../../src/store/store.js';
import { querySql } from '../support/db-sql.js';
import { createTestDatabase, STORES, type TestDatabase } from '../support/stores.js';

const LEASE_MS = 60_000;

describe.each(STORES)('instance heartbeats on %s', (kind) => {
  const open: Store[] = [];
  let db: TestDatabase | undefined;
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    await db?.dispose();
  });
  const openStore = async () => {
    const store = db!.open();
    open.push(store);
    await store.migrate();
    return store;
  };
  const instances = async () =>
    (await querySql<{ id: string }>(db!, 'SELECT id FROM instances ORDER BY id')).map((r) => r.id).sort();

  it('registers the instance and, at a clean shutdown, removes it with its waiters', async () => {
    db = await createTestDatabase(kind);
    const store = await openStore();
    await store.heartbeat(LEASE_MS, true);
    expect(await instances()).toEqual([store.instanceId]);
    const locks = new LockService(store, true);
    expect((await locks.acquire('inst-lock', 'inst-holder')).ok).toBe(true);
    const waiting = new AbortController();
    const blocked = locks.acquire('inst-lock', 'inst-waiter', { waitSeconds: 30, signal: waiting.signal });
    for (let i = 0; i < 50; i++) {
      const rows = await querySql<{ instance_id: string }>(db, 'SELECT instance_id FROM lock_waiters');
      if (rows.length > 0) {
        expect(rows.map((r) => r.instance_id)).toEqual([store.instanceId]);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await store.retireInstance();
    expect(await instances()).toEqual([]);
    expect(await querySql(db, 'SELECT id FROM lock_waiters')).toEqual([]);
    waiting.abort();
    await blocked.catch(() => undefined);
  });

  it.runIf(kind === 'sqlite')('a second server on the same SQLite file sweeps nothing', async () => {
    db = await createTestDatabase(kind);
    const first = await openStore();
    await first.heartbeat(LEASE_MS, true);
    const second = await openStore();
    await second.heartbeat(LEASE_MS, true);
    expect(await instances()).toEqual([first.instanceId, second.instanceId].sort());
  });
});
