// `instances`: one row per running server, its heartbeat lease by the database clock. A queue
// entry belongs to the instance whose request waits (src/lock/queue.ts): an instance whose lease
// ran out has ghost waiters, which stop blocking others (and go at the next operation or sweep).
import type { Tx } from './sql.js';

/**
 * The instance's lease renewed (`leaseMs` from now); dead instances' rows go. `soleServer`: this
 * process is sure no other server runs on the database (SQLite's file lock), so every other
 * instance and every queue entry not its own are of earlier runs.
 */
export async function writeHeartbeat(
  tx: Tx,
  instanceId: string,
  leaseMs: number,
  soleServer: boolean,
): Promise<void> {
  const now = await tx.now();
  await tx.run(
    `INSERT INTO instances (id, started_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`,
    [instanceId, now, now, now + leaseMs],
  );
  // Rows of dead instances: their waiters are ghosts already (no live row), the rows go.
  await tx.run('DELETE FROM instances WHERE expires_at < ?', [now]);
  if (soleServer) {
    await tx.run('DELETE FROM instances WHERE id <> ?', [instanceId]);
    await tx.run('DELETE FROM lock_waiters WHERE instance_id IS NULL OR instance_id <> ?', [instanceId]);
  }
}

/** A server stopping: its queue entries and its row go, so nobody waits behind them. */
export async function retireInstanceRows(tx: Tx, instanceId: string): Promise<void> {
  await tx.run('DELETE FROM lock_waiters WHERE instance_id = ?', [instanceId]);
  await tx.run('DELETE FROM instances WHERE id = ?', [instanceId]);
}

/**
 * Locks the lease expiry job has work on: a holder's lease ran out, or a waiter's deadline
 * passed or its instance's heartbeat lease did (ghosts).
 */
export async function readExpiredLockIds(q: Tx, limit: number): Promise<number[]> {
  const now = await q.now();
  const rows = await q.all<{ lock_id: number }>(
    // next_expiry: the earliest lease end of the lock's holders (migration 14); not indexed, so
    // this scans the locks every few seconds rather than cost each grant (see migration 14)
    `SELECT id AS lock_id FROM locks WHERE next_expiry <= ?
     UNION SELECT w.lock_id FROM lock_waiters w LEFT JOIN instances i ON i.id = w.instance_id
       WHERE w.deadline <= ? OR i.expires_at IS NULL OR i.expires_at <= ?
     LIMIT ?`,
    [now, now, now, limit],
  );
  return rows.map((r) => Number(r.lock_id));
}
