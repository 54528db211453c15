// The ids of the locks whose calendar refuses new holders now (src/lock/outside-window.ts).
// Window rules need time-zone arithmetic (luxon), which SQL of both stores cannot do alike, so
// the rule runs here over the locks that have a calendar at all: a bounded set (the operators'
// maintenance-windowed locks, not the fleet's thousands of plain ones). The read itself scans
// the locks table without an index (sub-millisecond at thousands of locks); only the candidates
// come back and are evaluated. A lock without a calendar is never outside its window.
import { isOutsideWindow } from '../lock/outside-window.js';
import { LOCK_COLUMNS, toLockState, type LockRecord } from './rows.js';
import type { Queryable } from './sql.js';

/** Locks that may be outside their window; extend it with every calendar column (blackouts, pause). */
export const CALENDAR_CANDIDATES = 'l.windows IS NOT NULL';

export async function lockIdsOutsideWindow(q: Queryable, now: number): Promise<number[]> {
  const records = await q.all<LockRecord>(`SELECT ${LOCK_COLUMNS} FROM locks l WHERE ${CALENDAR_CANDIDATES}`);
  return records
    .map((r) => toLockState(r, []))
    .filter((lock) => isOutsideWindow(lock, now))
    .map((lock) => lock.id);
}
