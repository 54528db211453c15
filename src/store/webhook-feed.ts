// The store side of webhooks: each target reads the lock event stream from its own cursor, so
// lock requests never wait for a receiver and a restart resumes where delivery stopped; and
// the stale scan, which records a `stale` event once per holder that went past stale_after.
import { eventFor } from '../lock/types.js';
import { insertEvents } from './lock-sql.js';
import { markStaleReported } from './holders-json.js';
import { EVENT_COLUMNS, toEventRow, type EventRecord } from './events.js';
import type { Run } from './sql.js';
import type { EventFeed, EventRow, WebhookCursor } from './store.js';

/**
 * How old an event must be before a reader that follows the feed by id takes it: PostgreSQL
 * hands out event ids before commit, so a lower id can still commit after a higher one, and a
 * reader whose cursor moved past it would never see it. The webhook sender and the event list
 * wait this long.
 */
export const EVENT_SETTLE_MS = 1000;

const CURSOR_SELECT = 'SELECT last_event_id, attempts, next_attempt_at FROM webhook_cursors WHERE target = ?';
type CursorRecord = { last_event_id: number; attempts: number; next_attempt_at: number | null };

function toCursor(r: {
  last_event_id: number;
  attempts: number;
  next_attempt_at: number | null;
}): WebhookCursor {
  return {
    lastEventId: Number(r.last_event_id),
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at === null ? null : Number(r.next_attempt_at),
  };
}

export class WebhookFeed implements EventFeed {
  constructor(
    private readonly write: Run,
    private readonly read: Run,
    /**
     * for the cursors alone, which no lock operation reads: SQLite's writer keeps its memory of
     * the locks across them (every delivery pass moves a cursor)
     */
    private readonly writeCursor: Run = write,
  ) {}

  /** A new target starts at the current end of the stream: it is not sent the past. */
  cursor(target: string): Promise<WebhookCursor> {
    return this.writeCursor(async (tx) => {
      const now = await tx.now();
      await tx.run(
        `INSERT INTO webhook_cursors (target, last_event_id, attempts, updated_at)
         VALUES (?, (SELECT COALESCE(MAX(id), 0) FROM lock_events), 0, ?) ON CONFLICT (target) DO NOTHING`,
        [target, now],
      );
      const r = await tx.get<CursorRecord>(CURSOR_SELECT, [target]);
      return toCursor(r!);
    });
  }

  /** The target's cursor as stored, without writing; undefined if it was never started. */
  load(target: string): Promise<WebhookCursor | undefined> {
    return this.read(async (q) => {
      const r = await q.get<CursorRecord>(CURSOR_SELECT, [target]);
      return r ? toCursor(r) : undefined;
    });
  }

  save(target: string, cursor: WebhookCursor, lastError: string | null): Promise<void> {
    return this.writeCursor(async (tx) => {
      await tx.run(
        `UPDATE webhook_cursors SET last_event_id = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ?
         WHERE target = ?`,
        [cursor.lastEventId, cursor.attempts, cursor.nextAttemptAt, lastError, await tx.now(), target],
      );
    });
  }

  /**
   * Events after `afterId` that are at least `settleMs` old: on PostgreSQL ids are handed out
   * before commit, so a younger event could still be overtaken by a lower id committing late.
   */
  eventsAfter(
    afterId: number,
    settleMs: number,
    limit: number,
  ): Promise<{ events: EventRow[]; now: number }> {
    return this.read(async (q) => {
      const now = await q.now();
      const records = await q.all<EventRecord>(
        `SELECT ${EVENT_COLUMNS}
         FROM lock_events WHERE id > ? AND created_at <= ? ORDER BY id LIMIT ?`,
        [afterId, now - settleMs, limit],
      );
      return { events: records.map(toEventRow), now };
    });
  }

  /** The newest `limit` events at least `settleMs` old, oldest first: where a reader of the stream starts. */
  latestEvents(settleMs: number, limit: number): Promise<EventRow[]> {
    return this.read(async (q) => {
      const now = await q.now();
      const records = await q.all<EventRecord>(
        `SELECT ${EVENT_COLUMNS}
         FROM lock_events WHERE created_at <= ? ORDER BY id DESC LIMIT ?`,
        [now - settleMs, limit],
      );
      return records.map(toEventRow).reverse();
    });
  }

  /** Records `stale` for holders past stale_after that were not reported since their last refresh. */
  reportStale(staleAfterMs: number, limit = 500): Promise<number> {
    return this.write(async (tx) => {
      const now = await tx.now();
      const rows = await tx.all<{
        lock_id: number;
        lock_name: string;
        host_id: number;
        host_name: string;
        refreshed_at: number;
      }>(
        `SELECT lh.lock_id, l.name AS lock_name, lh.host_id, ho.name AS host_name, lh.refreshed_at
         FROM lock_holders lh JOIN locks l ON l.id = lh.lock_id JOIN hosts ho ON ho.id = lh.host_id
         WHERE lh.refreshed_at < ? AND lh.stale_reported_at IS NULL ORDER BY lh.refreshed_at LIMIT ?`,
        [now - staleAfterMs, limit],
      );
      for (const r of rows) {
        const host = { id: Number(r.host_id), name: r.host_name };
        const minutes = Math.floor((now - Number(r.refreshed_at)) / 60_000);
        await insertEvents(
          tx,
          Number(r.lock_id),
          r.lock_name,
          [eventFor('stale', { host }, `held ${minutes} min without refresh`)],
          now,
        );
        await markStaleReported(tx, Number(r.lock_id), Number(r.host_id), now);
      }
      return rows.length;
    });
  }
}
