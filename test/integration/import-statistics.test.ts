// A restore (`keyholder import`) and `import-foreman` load whole tables at once. On PostgreSQL the
// planner's statistics and the visibility map would still describe the empty tables until
// autovacuum came by, and the first lists of a 100k-lock database would scan and sort it all
// (bench "scale": list p50 67 ms as loaded, 19 ms vacuumed). Both loads refresh them at once.
import { afterEach, describe, expect, it } from 'vitest';
import { EXPORT_FORMAT, EXPORT_VERSION, type ExportDocument } from '../../src/store/backup.js';
import type { Store } from '../../src/store/store.js';
import { querySql } from '../support/db-sql.js';
import { createTestDatabase, STORES, type TestDatabase } from '../support/stores.js';

const LOCKS = 300;

function document(): ExportDocument {
  const now = Date.now();
  const locks = Array.from({ length: LOCKS }, (_, i) => ({
    id: i + 1,
    name: `restored-${i}`,
    type: 'ForemanDlm::Dlmlock::Update',
    enabled: true,
    max_holders: 1,
    lease_seconds: null,
    windows: null,
    fencing_counter: 0,
    created_at: now,
    updated_at: now,
  }));
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exported_at: new Date(now).toISOString(),
    tables: { locks },
  } as ExportDocument;
}

describe.each(STORES)('bulk loads on %s', (kind) => {
  let db: TestDatabase | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await db?.dispose();
  });

  async function open() {
    db = await createTestDatabase(kind);
    store = db.open();
    await store.migrate();
    return { db, store };
  }

  it('a restore leaves the planner knowing the loaded tables, and answers as before', async () => {
    const { db, store } = await open();
    const counts = await store.importData(document());
    expect(counts.locks).toBe(LOCKS);
    expect((await store.getLock('restored-7'))?.name).toBe('restored-7');
    if (kind !== 'postgres') return;
    const [stats] = await querySql<{ analysed: boolean; vacuumed: boolean; tuples: number }>(
      db,
      `SELECT last_analyze IS NOT NULL AS analysed, last_vacuum IS NOT NULL AS vacuumed, n_live_tup AS tuples
       FROM pg_stat_user_tables WHERE relname = 'locks'`,
    );
    expect(stats).toMatchObject({ analysed: true, vacuumed: true });
    const [planned] = await querySql<{ reltuples: number }>(
      db,
      "SELECT reltuples FROM pg_class WHERE relname = 'locks'",
    );
    expect(Number(planned!.reltuples)).toBe(LOCKS);
  });

  it('import-foreman refreshes them too', async () => {
    const { db, store } = await open();
    const now = Date.now();
    await store.importLocks({
      hosts: [{ name: 'h1.example.com', createdAt: now, lastCheckinAt: null }],
      locks: Array.from({ length: 50 }, (_, i) => ({
        name: `foreman-${i}`,
        type: 'ForemanDlm::Dlmlock::Update',
        enabled: true,
        createdAt: now,
        updatedAt: now,
        holder: i === 0 ? { hostName: 'h1.example.com', acquiredAt: now, refreshedAt: now } : null,
      })),
      events: [],
    });
    expect((await store.getLock('foreman-0'))?.holders.map((h) => h.hostName)).toEqual(['h1.example.com']);
    if (kind !== 'postgres') return;
    const [planned] = await querySql<{ reltuples: number }>(
      db,
      "SELECT reltuples FROM pg_class WHERE relname = 'locks'",
    );
    expect(Number(planned!.reltuples)).toBe(50);
  });
});
