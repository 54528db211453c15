// The lock event log (lock_events): its row shape, columns and mapping, the API's list and the
// retention. The lock operations write events (insertEvents in src/store/lock-sql.ts).
import type { Run } from './sql.js';
import type { EventFilter, EventLog, EventRow } from './store.js';

/** a lock_events row's columns, in every read of the log */
export const EVENT_COLUMNS = 'id, lock_id, lock_name, event_type, host_name, user_login, detail, created_at';

export interface EventRecord {
  id: number;
  lock_id: number | null;
  lock_name: string;
  event_type: string;
  host_name: string | null;
  user_login: string | null;
  detail: string | null;
  created_at: number;
}

export function toEventRow(r: EventRecord): EventRow {
  return {
    id: Number(r.id),
    lockId: r.lock_id === null ? null : Number(r.lock_id),
    lockName: r.lock_name,
    type: r.event_type,
    hostName: r.host_name,
    userLogin: r.user_login,
    detail: r.detail,
    createdAt: Number(r.created_at),
  };
}

export class LockEvents implements EventLog {
  constructor(
    private readonly write: Run,
    private readonly read: Run,
  ) {}

  list(
    lockId: number,
    limit: number,
    offset: number,
    filter: EventFilter = {},
  ): Promise<{ total: number; subtotal: number; events: EventRow[] }> {
    return this.read(async (q) => {
      const total = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM lock_events WHERE lock_id = ?', [
        lockId,
      ]);
      // lock_events_lock (lock_id, id) narrows to the lock's events, newest first; type and host
      // are checked on those rows only (a lock's events are bounded by the retention)
      const where = ['lock_id = ?'];
      const params: unknown[] = [lockId];
      if (filter.types?.length) {
        where.push(`event_type IN (${filter.types.map(() => '?').join(', ')})`);
        params.push(...filter.types);
      }
      if (filter.host !== undefined) {
        where.push('host_name = ?');
        params.push(filter.host);
      }
      const filtered = where.length > 1;
      const subtotal = filtered
        ? await q.get<{ n: number }>(
            `SELECT COUNT(*) AS n FROM lock_events WHERE ${where.join(' AND ')}`,
            params,
          )
        : total;
      const records = await q.all<EventRecord>(
        `SELECT ${EVENT_COLUMNS}
         FROM lock_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ? OFFSET ?`,
        [...params, limit, offset],
      );
      return {
        total: Number(total?.n ?? 0),
        subtotal: Number(subtotal?.n ?? 0),
        events: records.map(toEventRow),
      };
    });
  }

  expire(days: number): Promise<number> {
    return this.write(async (tx) => {
      const cutoff = (await tx.now()) - days * 86_400_000;
      return (await tx.run('DELETE FROM lock_events WHERE created_at < ?', [cutoff])).changes;
    });
  }
}
