// Reads over every table at once, for operators: the counts /metrics exports (with the held
// locks an operator looks for by name) and what `keyholder doctor` checks. Read-only.
import type { Tx } from './sql.js';
import type { LockStats } from './store.js';

export async function readLockStats(q: Tx, staleAfterMs: number, namedLimit: number): Promise<LockStats> {
  const now = await q.now();
  // stale locks first, then the longest held: the ones an operator looks for by name
  const held =
    namedLimit > 0
      ? await q.all<{ name: string; holders: number; heldSince: number; stale: number }>(
          `SELECT l.name, COUNT(*) AS holders, MIN(h.acquired_at) AS "heldSince",
             CASE WHEN MIN(h.refreshed_at) < ? THEN 1 ELSE 0 END AS stale
           FROM lock_holders h JOIN locks l ON l.id = h.lock_id
           GROUP BY l.id, l.name
           ORDER BY stale DESC, "heldSince", l.name
           LIMIT ?`,
          [now - staleAfterMs, namedLimit],
        )
      : [];
  const row = await q.get<Record<string, number>>(
    `SELECT
       (SELECT COUNT(*) FROM locks) AS locks,
       (SELECT COUNT(*) FROM locks WHERE holder_count > 0) AS "locksHeld",
       (SELECT COALESCE(SUM(holder_count), 0) FROM locks) AS holders,
       (SELECT COUNT(DISTINCT lock_id) FROM lock_holders WHERE refreshed_at < ?) AS "locksStale",
       (SELECT COUNT(*) FROM lock_waiters w JOIN instances i ON i.id = w.instance_id
         WHERE w.deadline > ? AND i.expires_at > ?) AS waiters,
       (SELECT COUNT(*) FROM hosts) AS hosts,
       (SELECT COUNT(*) FROM lock_events) AS events,
       (SELECT COUNT(*) FROM webhook_cursors WHERE attempts > 0) AS "webhooksFailing",
       (SELECT COUNT(*) FROM instances WHERE expires_at > ?) AS "instancesAlive"`,
    [now - staleAfterMs, now, now, now],
  );
  const n = (v: unknown) => Number(v ?? 0);
  return {
    locks: n(row?.locks),
    locksHeld: n(row?.locksHeld),
    holders: n(row?.holders),
    locksStale: n(row?.locksStale),
    waiters: n(row?.waiters),
    hosts: n(row?.hosts),
    events: n(row?.events),
    webhooksFailing: n(row?.webhooksFailing),
    instancesAlive: n(row?.instancesAlive),
    now,
    held: held.map((h) => ({
      name: h.name,
      holders: n(h.holders),
      heldSince: n(h.heldSince),
      stale: n(h.stale) === 1,
    })),
  };
}

/** applied schema versions and the database's clock */
export async function readDiagnosis(q: Tx): Promise<{ appliedMigrations: number[]; clock: number }> {
  const clock = await q.now();
  let appliedMigrations: number[] = [];
  try {
    const rows = await q.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    appliedMigrations = rows.map((r) => Number(r.version));
  } catch {
    // no schema_migrations table: a database keyholder never migrated
  }
  return { appliedMigrations, clock };
}
