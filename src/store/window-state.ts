// The ids of the locks whose calendar refuses new holders now (src/lock/outside-window.ts).
// Window and blackout rules need time-zone arithmetic (luxon), which SQL of both stores cannot
// do alike, so the rule runs here over the locks that have a calendar at all: a bounded set
// (the operators' windowed, blacked-out or paused locks, not the fleet's thousands of plain
// ones). The read scans the locks table without an index (sub-millisecond at thousands of
// locks); only the candidates come back and are evaluated. While the global pause holds, every
// lock is refused, and all are counted.
import { isOutsideWindow } from '../lock/outside-window.js';
import { LOCK_COLUMNS, toLockState, type LockRecord } from './lock-rows.js';
import { readGlobalPause } from './settings-sql.js';
import type { Queryable } from './sql.js';

/** Locks that may be outside their window: any calendar column set. */
const CALENDAR_CANDIDATES = 'l.windows IS NOT NULL OR l.blackouts IS NOT NULL OR l.paused_until > ?';

export async function lockIdsOutsideWindow(q: Queryable, now: number): Promise<number[]> {
  const globalPause = await readGlobalPause(q, now);
  if (globalPause && globalPause.until > now) {
    const all = await q.all<{ id: number }>('SELECT id FROM locks');
    return all.map((r) => Number(r.id));
  }
  const records = await q.all<LockRecord>(
    `SELECT ${LOCK_COLUMNS} FROM locks l WHERE ${CALENDAR_CANDIDATES}`,
    [now],
  );
  return records
    .map((r) => toLockState(r, []))
    .filter((lock) => isOutsideWindow(lock, null, now))
    .map((lock) => lock.id);
}
