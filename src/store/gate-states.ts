// Each health gate's last outcome (migration 8), so a `gate` event is recorded once per change
// however many instances check the gate: the row is read under the lock's row lock and written,
// with the event, only when the outcome differs. Also the members source the checkins gate uses
// until lock members exist (src/gates/members-source.ts).
import type { Run } from './sql.js';
import type { GateOutcome, GateStateStore } from './store.js';
import { insertEvents } from './lock-sql.js';

export class GateStates implements GateStateStore {
  constructor(
    private readonly write: Run,
    private readonly read: Run,
  ) {}

  /**
   * Records `ok` as the gate's outcome; when it differs from the recorded one (or none was
   * recorded), also a `gate` event on the lock with `eventDetail`. True when it changed.
   * A lock deleted meanwhile records nothing.
   */
  async record(lockId: number, gate: string, ok: boolean, eventDetail: string): Promise<boolean> {
    // the common case, nothing changed: one read, no write transaction and no row lock
    const known = await this.read((q) =>
      q.get<{ ok: boolean | number }>('SELECT ok FROM lock_gate_states WHERE lock_id = ? AND gate_name = ?', [
        lockId,
        gate,
      ]),
    );
    if (known && Boolean(known.ok) === ok) return false;
    return this.write(async (tx) => {
      const lock = await tx.get<{ name: string }>(`SELECT name FROM locks WHERE id = ?${tx.forUpdate}`, [
        lockId,
      ]);
      if (!lock) return false;
      const now = await tx.now();
      const prev = await tx.get<{ ok: boolean | number }>(
        'SELECT ok FROM lock_gate_states WHERE lock_id = ? AND gate_name = ?',
        [lockId, gate],
      );
      if (prev && Boolean(prev.ok) === ok) return false;
      await tx.run(
        `INSERT INTO lock_gate_states (lock_id, gate_name, ok, detail, changed_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (lock_id, gate_name) DO UPDATE SET ok = excluded.ok, detail = excluded.detail,
           changed_at = excluded.changed_at`,
        [lockId, gate, ok, eventDetail, now],
      );
      await insertEvents(
        tx,
        lockId,
        lock.name,
        [{ type: 'gate', hostId: null, hostName: null, userId: null, userLogin: null, detail: eventDetail }],
        now,
      );
      return true;
    });
  }

  /** The recorded outcomes of a lock's gates (what another instance saw last). */
  async outcomes(lockId: number): Promise<GateOutcome[]> {
    return this.read(async (q) => {
      const rows = await q.all<{
        gate_name: string;
        ok: boolean | number;
        detail: string | null;
        changed_at: number;
      }>(
        'SELECT gate_name, ok, detail, changed_at FROM lock_gate_states WHERE lock_id = ? ORDER BY gate_name',
        [lockId],
      );
      return rows.map((r) => ({
        gate: r.gate_name,
        ok: Boolean(r.ok),
        detail: r.detail ?? '',
        changedAt: Number(r.changed_at),
      }));
    });
  }
}
