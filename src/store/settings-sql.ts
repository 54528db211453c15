// `settings`: small server-wide values in the database, so every instance sees the same ones
// and reads them in the transaction that decides (migration 9). Today one row: the global
// pause, `{"until": ms, "reason": text|null}` under the name `pause` (the PostgreSQL host rule
// reads `until` from it too, src/store/migrations/host-rule.ts).
import type { Pause } from '../lock/calendar.js';
import type { Queryable, Tx } from './sql.js';

const PAUSE = 'pause';

/** The stored global pause, whether or not its time has passed; null when none is set. */
export async function readStoredPause(q: Queryable): Promise<Pause | null> {
  const row = await q.get<{ value: string }>('SELECT value FROM settings WHERE name = ?', [PAUSE]);
  if (!row) return null;
  const value = JSON.parse(row.value) as { until: number; reason: string | null };
  return { until: Number(value.until), reason: value.reason ?? null };
}

/** A stored global pause as it stands at `now`: itself while in force, else null. */
export function pauseInForce(stored: Pause | null, now: number): Pause | null {
  return stored && stored.until > now ? stored : null;
}

/** The global pause in force at `now` (one primary-key read); null when none is. */
export async function readGlobalPause(q: Queryable, now: number): Promise<Pause | null> {
  return pauseInForce(await readStoredPause(q), now);
}

/** Sets (or, with null, removes) the global pause. */
export async function writeGlobalPause(tx: Tx, pause: Pause | null, now: number): Promise<void> {
  if (pause === null) {
    await tx.run('DELETE FROM settings WHERE name = ?', [PAUSE]);
    return;
  }
  await tx.run(
    `INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    [PAUSE, JSON.stringify({ until: pause.until, reason: pause.reason }), now],
  );
}
