// The figures of the web UI's overview: how many locks are held, stale, waited for and
// disabled, how many hosts checked in lately, and acquisitions and refusals per hour. Counts
// only, each one indexed query, so the overview stays cheap with thousands of locks; the one
// exception, "outside window", evaluates the calendars of the locks that have one.
import { EVENT_COLUMNS, toEventRow, type EventRecord } from './events.js';
import type { Run } from './sql.js';
import type { EventRow, HourlyActivity, OverviewCounts, OverviewStore } from './store.js';
import { lockIdsOutsideWindow } from './window-state.js';

const HOUR_MS = 3_600_000;

export class Overview implements OverviewStore {
  constructor(private readonly read: Run) {}

  counts(staleAfterMs: number, checkinWithinMs: number): Promise<OverviewCounts & { now: number }> {
    return this.read(async (q) => {
      const now = await q.now();
      const row = await q.get<Record<Exclude<keyof OverviewCounts, 'outsideWindow'>, number>>(
        `SELECT
           (SELECT COUNT(*) FROM locks) AS locks,
           (SELECT COUNT(*) FROM locks WHERE holder_count > 0) AS held,
           (SELECT COUNT(DISTINCT lock_id) FROM lock_holders WHERE refreshed_at < ?) AS stale,
           (SELECT COUNT(DISTINCT w.lock_id) FROM lock_waiters w JOIN instances i ON i.id = w.instance_id
             WHERE w.deadline > ? AND i.expires_at > ?) AS waiting,
           (SELECT COUNT(*) FROM locks WHERE NOT enabled) AS disabled,
           (SELECT COUNT(*) FROM hosts) AS hosts,
           (SELECT COUNT(*) FROM hosts WHERE last_checkin_at >= ?) AS "hostsCheckedIn",
           (SELECT COUNT(DISTINCT g.lock_id) FROM lock_gate_states g JOIN locks l ON l.id = g.lock_id
             WHERE g.ok = ? AND l.gates IS NOT NULL) AS "gateFailing"`,
        [now - staleAfterMs, now, now, now - checkinWithinMs, false],
      );
      const n = (v: unknown) => Number(v ?? 0);
      return {
        locks: n(row?.locks),
        held: n(row?.held),
        stale: n(row?.stale),
        waiting: n(row?.waiting),
        disabled: n(row?.disabled),
        outsideWindow: (await lockIdsOutsideWindow(q, now)).length,
        gateFailing: n(row?.gateFailing),
        hosts: n(row?.hosts),
        hostsCheckedIn: n(row?.hostsCheckedIn),
        now,
      };
    });
  }

  /** Every hour of the last `hours` (oldest first, the current one last), empty hours as 0. */
  activity(hours: number): Promise<HourlyActivity[]> {
    return this.read(async (q) => {
      const now = await q.now();
      const first = (Math.floor(now / HOUR_MS) - hours + 1) * HOUR_MS;
      const rows = await q.all<{ hour: number; event_type: string; n: number }>(
        `SELECT created_at / ${HOUR_MS} AS hour, event_type, COUNT(*) AS n FROM lock_events
         WHERE created_at >= ? AND event_type IN ('acquire', 'fail')
         GROUP BY created_at / ${HOUR_MS}, event_type`,
        [first],
      );
      const out: HourlyActivity[] = [];
      for (let i = 0; i < hours; i++) out.push({ hour: first + i * HOUR_MS, acquisitions: 0, refusals: 0 });
      for (const r of rows) {
        const slot = out[Number(r.hour) - first / HOUR_MS];
        if (!slot) continue;
        if (r.event_type === 'acquire') slot.acquisitions += Number(r.n);
        else slot.refusals += Number(r.n);
      }
      return out;
    });
  }

  /**
   * A host's history across locks, newest first: what it acquired, released, was refused or
   * had taken away. Bounded by `limit`; event retention bounds the scan.
   */
  hostEvents(hostName: string, limit: number): Promise<{ total: number; events: EventRow[] }> {
    return this.read(async (q) => {
      const total = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM lock_events WHERE host_name = ?', [
        hostName,
      ]);
      const records = await q.all<EventRecord>(
        `SELECT ${EVENT_COLUMNS}
         FROM lock_events WHERE host_name = ? ORDER BY id DESC LIMIT ?`,
        [hostName, limit],
      );
      return { total: Number(total?.n ?? 0), events: records.map(toEventRow) };
    });
  }
}
