// Direct SQL on a test database, for what the API deliberately does not offer: reading the
// blocking-acquire queue (so tests order their waiters without sleeping) and ageing a holder
// (so staleness is tested without waiting hours).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import type { TestDatabase } from './stores.js';
import { holderColumns, parseStoredHolders, type StoredHolder } from '../../src/store/holders-json.js';

export async function querySql<R>(db: TestDatabase, sql: string, params: unknown[] = []): Promise<R[]> {
  if (db.kind === 'sqlite') {
    const conn = new Database(join(db.dataDir, 'keyholder.sqlite'));
    try {
      conn.pragma('busy_timeout = 5000');
      const stmt = conn.prepare(sql);
      return stmt.reader ? (stmt.all(...params) as R[]) : (stmt.run(...params), []);
    } finally {
      conn.close();
    }
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    let n = 0;
    return (
      await client.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      )
    ).rows as R[];
  } finally {
    await client.end();
  }
}

export async function countWaiters(db: TestDatabase): Promise<number> {
  const rows = await querySql<{ n: string | number }>(db, 'SELECT COUNT(*) AS n FROM lock_waiters');
  return Number(rows[0]!.n);
}

/** Polls until the queue has `n` waiters (bounded: throws after `timeoutMs`). */
export async function untilWaiters(db: TestDatabase, n: number, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const count = await countWaiters(db);
    if (count === n) return;
    if (Date.now() > end) throw new Error(`expected ${n} waiters, have ${count}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Changes each of a lock's holders as `edit` says, where keyholder keeps them: in the lock row
 * (`locks.holders`, migration 14), with `holder_count` and `next_expiry` kept in step. A test's
 * only way to write holders directly; the server is idle meanwhile.
 */
export async function editHolders(
  db: TestDatabase,
  lockName: string,
  edit: (holder: StoredHolder) => StoredHolder,
): Promise<void> {
  const [row] = await querySql<{ holders: unknown }>(db, 'SELECT holders FROM locks WHERE name = ?', [
    lockName,
  ]);
  if (!row) throw new Error(`no lock ${lockName}`);
  const c = holderColumns(parseStoredHolders(row.holders).map(edit));
  await querySql(
    db,
    `UPDATE locks SET holders = ${db.kind === 'postgres' ? 'CAST(? AS jsonb)' : '?'}, holder_count = ?, next_expiry = ?
     WHERE name = ?`,
    [c.holders, c.holderCount, c.nextExpiry, lockName],
  );
}

/** Moves a lock's holders' acquire/refresh times `ms` into the past. */
export async function ageHolders(db: TestDatabase, lockName: string, ms: number): Promise<void> {
  await editHolders(db, lockName, (h) => ({
    ...h,
    acquired_at: h.acquired_at - ms,
    refreshed_at: h.refreshed_at - ms,
  }));
}
