// Direct SQL on a test database, for what the API deliberately does not offer: reading the
// blocking-acquire queue (so tests order their waiters without sleeping) and ageing a holder
// (so staleness is tested without waiting hours).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import type { TestDatabase } from './stores.js';

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

/** Moves a lock's holders' acquire/refresh times `ms` into the past. */
export async function ageHolders(db: TestDatabase, lockName: string, ms: number): Promise<void> {
  await querySql(
    db,
    `UPDATE lock_holders SET acquired_at = acquired_at - ?, refreshed_at = refreshed_at - ?
     WHERE lock_id = (SELECT id FROM locks WHERE name = ?)`,
    [ms, ms, lockName],
  );
}
