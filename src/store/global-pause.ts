// The global pause as an operator sets or lifts it: the setting (src/store/settings-sql.ts),
// its audit record and, when a pause starts, a signal to every lock's waiters, in one
// transaction.
import type { Pause } from '../lock/calendar.js';
import { insertAudit } from './audit.js';
import { readStoredPause, writeGlobalPause } from './settings-sql.js';
import type { Tx } from './sql.js';
import type { AuditActor } from './store.js';

export async function readGlobalPauseNow(q: Tx): Promise<{ pause: Pause | null; now: number }> {
  return { now: await q.now(), pause: await readStoredPause(q) };
}

/**
 * Sets (or, with null, lifts) the global pause. `starts`: a pause now in force, which refuses
 * every blocking acquire at once (src/lock/rules.ts) — `signalEveryLock` has told every
 * instance's waiters in the transaction; the caller tells its own after the commit.
 */
export async function changeGlobalPause(
  tx: Tx,
  pause: Pause | null,
  actor: AuditActor,
  signalEveryLock: (tx: Tx) => Promise<void>,
): Promise<{ pause: Pause | null; now: number; starts: boolean }> {
  const now = await tx.now();
  const before = await readStoredPause(tx);
  await writeGlobalPause(tx, pause, now);
  const detail = pause
    ? `until ${new Date(pause.until).toISOString()}${pause.reason ? `: ${pause.reason}` : ''}`
    : null;
  // lifting a pause that was never set changes nothing and is not recorded
  if (pause || before) await insertAudit(tx, pause ? 'pause' : 'resume', actor, 'all locks', detail, now);
  // the waiters of every lock, on every instance, must hear of it now rather than at their next release
  const starts = pause !== null && pause.until > now;
  if (starts) await signalEveryLock(tx);
  return { pause, now, starts };
}
