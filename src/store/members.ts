// A lock's members (migration 10, src/lock/members.ts): counted inside each lock transaction
// that needs them, listed for the API and the `checkins` gate, added and removed by operators
// with an audit entry in the same transaction. A grant's own membership is written by
// applyNext (src/store/lock-sql.ts) and PostgreSQL's host rule.
import { insertAudit } from './audit.js';
import { membershipCutoff } from '../lock/members.js';
import { findLockRecord } from './lock-sql.js';
import type { Queryable, Run, Tx } from './sql.js';
import type { AuditActor, Member, MemberChange, MemberStore } from './store.js';

/** A member row counts while an operator keeps it or its last acquire is within members_days. */
const CURRENT = `(m.added_at IS NOT NULL OR m.last_acquired_at >= ? - l.members_days * CAST(86400000 AS BIGINT))`;

/**
 * The members of a lock whose row this transaction holds, counted from `cutoff` (the earliest
 * acquire that still counts), and whether `hostId` is one of them: a grant to a non-member
 * adds one without a second count (on PostgreSQL the grant's own upsert is sent with COMMIT).
 */
export async function countMembers(
  q: Queryable,
  lockId: number,
  cutoff: number,
  hostId: number | null = null,
): Promise<{ count: number; hostIsMember: boolean }> {
  const row = await q.get<{ n: number; mine: number | null }>(
    `SELECT COUNT(*) AS n, SUM(CASE WHEN m.host_id = ? THEN 1 ELSE 0 END) AS mine FROM lock_members m
     WHERE m.lock_id = ? AND (m.added_at IS NOT NULL OR m.last_acquired_at >= ?)`,
    [hostId, lockId, cutoff],
  );
  return { count: Number(row?.n ?? 0), hostIsMember: Number(row?.mine ?? 0) > 0 };
}

/** Members of several locks at once (a page of the lock list). */
export async function countMembersOf(
  q: Queryable,
  lockIds: number[],
  now: number,
): Promise<Map<number, number>> {
  const counts = new Map<number, number>(lockIds.map((id) => [id, 0]));
  if (lockIds.length === 0) return counts;
  const rows = await q.all<{ lock_id: number; n: number }>(
    `SELECT m.lock_id, COUNT(*) AS n FROM lock_members m JOIN locks l ON l.id = m.lock_id
     WHERE m.lock_id IN (${lockIds.map(() => '?').join(', ')}) AND ${CURRENT} GROUP BY m.lock_id`,
    [...lockIds, now],
  );
  for (const r of rows) counts.set(Number(r.lock_id), Number(r.n));
  return counts;
}

interface MemberRecord {
  host_id: number;
  name: string;
  last_acquired_at: number | null;
  last_checkin_at: number | null;
  added_by: string | null;
  added_at: number | null;
}

const MEMBER_SELECT = `SELECT m.host_id, ho.name, m.last_acquired_at, ho.last_checkin_at, m.added_by, m.added_at
  FROM lock_members m JOIN locks l ON l.id = m.lock_id JOIN hosts ho ON ho.id = m.host_id`;

const nullable = (v: number | null) => (v === null ? null : Number(v));

function toMember(r: MemberRecord): Member {
  return {
    hostId: Number(r.host_id),
    name: r.name,
    source: r.added_at === null ? 'acquired' : 'operator',
    lastAcquiredAt: nullable(r.last_acquired_at),
    lastCheckinAt: nullable(r.last_checkin_at),
    addedBy: r.added_by,
    addedAt: nullable(r.added_at),
  };
}

/**
 * The lock (its row taken for update, so a percentage limit never sees half of a change) and
 * the host a membership change names; or which of them is missing.
 */
async function lockAndHost(tx: Tx, ref: string, hostName: string) {
  const lock = await findLockRecord(tx, ref, tx.forUpdate);
  if (!lock) return { ok: false as const, missing: 'lock' as const };
  const host = await tx.get<{ id: number }>('SELECT id FROM hosts WHERE name = ?', [hostName]);
  if (!host) return { ok: false as const, missing: 'host' as const, lockName: lock.name };
  return { ok: true as const, lock, host };
}

export class LockMembers implements MemberStore {
  constructor(
    private readonly write: Run,
    private readonly read: Run,
  ) {}

  /** A page of a lock's current members, by name; undefined when there is no such lock. */
  list(ref: string, limit: number, offset: number) {
    return this.read(async (q) => {
      const now = await q.now();
      const lock = await findLockRecord(q, ref, '');
      if (!lock) return undefined;
      const id = Number(lock.id);
      const { count: total } = await countMembers(q, id, membershipCutoff(now, Number(lock.members_days)));
      const rows = await q.all<MemberRecord>(
        `${MEMBER_SELECT} WHERE m.lock_id = ? AND ${CURRENT}
         ORDER BY LOWER(ho.name), ho.name LIMIT ? OFFSET ?`,
        [id, now, limit, offset],
      );
      return { lockId: id, lockName: lock.name, total, members: rows.map(toMember), now };
    });
  }

  /** Every current member with its last check-in: what the `checkins` gate judges. */
  current(lockId: number): Promise<{ members: Member[]; now: number }> {
    return this.read(async (q) => {
      const now = await q.now();
      const rows = await q.all<MemberRecord>(`${MEMBER_SELECT} WHERE m.lock_id = ? AND ${CURRENT}`, [
        lockId,
        now,
      ]);
      return { members: rows.map(toMember), now };
    });
  }

  /**
   * An operator makes a host a member until removed. The lock row is taken for update, so a
   * percentage limit never sees half of a change.
   */
  add(ref: string, hostName: string, actor: AuditActor): Promise<MemberChange> {
    return this.write(async (tx) => {
      const now = await tx.now();
      const found = await lockAndHost(tx, ref, hostName);
      if (!found.ok) return found;
      const { lock, host } = found;
      await tx.run(
        `INSERT INTO lock_members (lock_id, host_id, added_by, added_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (lock_id, host_id) DO UPDATE SET added_by = excluded.added_by, added_at = excluded.added_at`,
        [lock.id, host.id, actor.login, now],
      );
      await insertAudit(tx, 'lock_member_add', actor, lock.name, `added ${hostName}`, now);
      return { ok: true, lockName: lock.name, member: await this.member(tx, Number(lock.id), hostName, now) };
    });
  }

  /**
   * Ends an operator's membership. A host that acquired the lock within members_days stays a
   * member (`source: acquired`) until that ages out: the count follows what hosts did.
   */
  remove(ref: string, hostName: string, actor: AuditActor): Promise<MemberChange> {
    return this.write(async (tx) => {
      const now = await tx.now();
      const found = await lockAndHost(tx, ref, hostName);
      if (!found.ok) return found;
      const { lock, host } = found;
      const changed = await tx.run(
        'UPDATE lock_members SET added_by = NULL, added_at = NULL WHERE lock_id = ? AND host_id = ? AND added_at IS NOT NULL',
        [lock.id, host.id],
      );
      if (changed.changes === 0) return { ok: false, missing: 'membership', lockName: lock.name };
      // a row that no longer says anything goes (an aged acquire, or none)
      await tx.run(
        `DELETE FROM lock_members WHERE lock_id = ? AND host_id = ?
         AND (last_acquired_at IS NULL OR last_acquired_at < ? - ? * CAST(86400000 AS BIGINT))`,
        [lock.id, host.id, now, lock.members_days],
      );
      await insertAudit(tx, 'lock_member_remove', actor, lock.name, `removed ${hostName}`, now);
      return { ok: true, lockName: lock.name, member: await this.member(tx, Number(lock.id), hostName, now) };
    });
  }

  private async member(q: Queryable, lockId: number, hostName: string, now: number) {
    const r = await q.get<MemberRecord>(
      `${MEMBER_SELECT} WHERE m.lock_id = ? AND ho.name = ? AND ${CURRENT}`,
      [lockId, hostName, now],
    );
    return r ? toMember(r) : undefined;
  }
}
