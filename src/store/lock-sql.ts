// The lock tables' statements the SQL store composes into its transactions: find a lock by
// id or name, its holders and queue, write a lock's next state, its events, host check-ins.
import { AppError, validationError } from '../errors.js';
import { DEFAULT_MEMBERS_DAYS } from '../lock/members.js';
import type { EventDraft, Holder, HostRef, LockState } from '../lock/types.js';
import { UniqueViolation, type Queryable, type Tx } from './sql.js';
import {
  LOCK_COLUMNS,
  blackoutsColumn,
  gatesColumn,
  windowsColumn,
  toHolder,
  type HolderRecord,
  type LockRecord,
} from './lock-rows.js';
import type { Waiter } from '../lock/queue.js';
import {
  holderColumns,
  holdersSet,
  keptHolders,
  readStoredHolders,
  toStoredHolders,
} from './holders-json.js';
import type { HostIdentity } from './store.js';

const MAX_ID = 2 ** 53 - 1;

/** foreman_dlm tries a numeric id first, then the name. */
export function numericId(ref: string): number | undefined {
  if (!/^\d{1,16}$/.test(ref)) return undefined;
  const n = Number(ref);
  return n > 0 && n <= MAX_ID ? n : undefined;
}

/** A holder row with its host's name; the columns `toHolder` reads. */
const HOLDER_COLUMNS = `lh.lock_id, lh.host_id, ho.name AS host_name, lh.acquired_at, lh.refreshed_at,
  lh.fencing_token, lh.expires_at, lh.via_lock_id,
  (SELECT v.name FROM locks v WHERE v.id = lh.via_lock_id) AS via_lock_name`;
const HOLDER_SELECT = `SELECT ${HOLDER_COLUMNS} FROM lock_holders lh JOIN hosts ho ON ho.id = lh.host_id`;

/** A row of the holders-and-queue statements: `kind` 'h' a holder, 'w' a queue entry, 'o' the op's own entry. */
type HolderOrWaiterRow = HolderRecord & {
  kind: 'h' | 'w' | 'o';
  waiter_id: number | null;
  deadline: number | null;
  instance_expires_at: number | null;
};

/** The holders' part of those statements (first parameter: the lock id). */
const HOLDER_ROWS = `SELECT 'h' AS kind, ${HOLDER_COLUMNS}, NULL AS waiter_id, NULL AS deadline, NULL AS instance_expires_at
     FROM lock_holders lh JOIN hosts ho ON ho.id = lh.host_id WHERE lh.lock_id = ?`;

function toWaiter(r: HolderOrWaiterRow): Waiter {
  return {
    id: Number(r.waiter_id),
    hostId: Number(r.host_id),
    deadline: Number(r.deadline),
    instanceExpiresAt: r.instance_expires_at === null ? null : Number(r.instance_expires_at),
  };
}

/** The holders by fencing token, and the queue entries ('w' rows) in queue order. */
function holdersAndWaiters(rows: HolderOrWaiterRow[]): { holders: Holder[]; waiters: Waiter[] } {
  const holders = rows.filter((r) => r.kind === 'h').map(toHolder);
  holders.sort((a, b) => a.fencingToken - b.fencingToken);
  const waiters = rows.filter((r) => r.kind === 'w').map(toWaiter);
  waiters.sort((a, b) => a.id - b.id);
  return { holders, waiters };
}

/**
 * A lock's holders and its whole queue in one statement (one round trip on PostgreSQL). Run
 * after the lock row was taken for update, so it sees every holder committed before.
 */
export async function loadHoldersAndQueue(
  q: Queryable,
  lockId: number,
): Promise<{ holders: Holder[]; queue: Waiter[] }> {
  const rows = await q.all<HolderOrWaiterRow>(
    `${HOLDER_ROWS}
     UNION ALL
     SELECT 'w', w.lock_id, w.host_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, w.id, w.deadline, i.expires_at
     FROM lock_waiters w LEFT JOIN instances i ON i.id = w.instance_id WHERE w.lock_id = ?`,
    [lockId, lockId],
  );
  const { holders, waiters } = holdersAndWaiters(rows);
  return { holders, queue: waiters };
}

/**
 * A lock's holders and the start of its queue in one statement (one round trip on PostgreSQL):
 * the first `scan` entries in queue order, live or not (index lock_waiters_lock (lock_id, id)),
 * and the entry `ownId` wherever it stands. Draining a queue of thousands thus reads a few rows
 * per operation, not the whole queue. `more`: the queue may go on beyond the entries read.
 */
export async function loadHoldersAndQueueStart(
  q: Queryable,
  lockId: number,
  scan: number,
  ownId: number | undefined,
): Promise<{ holders: Holder[]; entries: Waiter[]; more: boolean; own?: Waiter }> {
  const rows = await q.all<HolderOrWaiterRow>(
    `${HOLDER_ROWS}
     UNION ALL
     SELECT 'w', q.lock_id, q.host_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, q.id, q.deadline, q.expires_at
     FROM (SELECT w.lock_id, w.host_id, w.id, w.deadline, i.expires_at
           FROM lock_waiters w LEFT JOIN instances i ON i.id = w.instance_id
           WHERE w.lock_id = ? ORDER BY w.id LIMIT ?) AS q
     UNION ALL
     SELECT 'o', w.lock_id, w.host_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, w.id, w.deadline, i.expires_at
     FROM lock_waiters w LEFT JOIN instances i ON i.id = w.instance_id WHERE w.id = ? AND w.lock_id = ?`,
    [lockId, lockId, scan, ownId ?? null, lockId],
  );
  const { holders, waiters: entries } = holdersAndWaiters(rows);
  const ownRow = rows.find((r) => r.kind === 'o');
  const read = { holders, entries, more: entries.length >= scan };
  return ownRow ? { ...read, own: toWaiter(ownRow) } : read;
}

export async function insertUnique(tx: Tx, sql: string, params: unknown[], field = 'name'): Promise<unknown> {
  try {
    return await tx.get(sql, params);
  } catch (err) {
    if (err instanceof UniqueViolation) throw validationError({ [field]: ['has already been taken'] });
    throw err;
  }
}

type HostRefRecord = { id: number; name: string; can_acquire_locks: boolean | number };

export function toHostRef(row: HostRefRecord): HostRef {
  return { id: Number(row.id), name: row.name, canAcquireLocks: Boolean(row.can_acquire_locks) };
}

/**
 * A host's check-in is recorded at most once a second (`last_checkin_at` is shown to the
 * second): on PostgreSQL every UPDATE writes a new row version, and a host that asks many
 * times a second would otherwise cost a write per request.
 */
export const CHECKIN_EVERY_MS = 1000;

/**
 * A grant records the holder's membership (`lock_members.last_acquired_at`) at most once a
 * second too: membership lasts `members_days`, and a host that takes and gives back a lock
 * many times a second would otherwise rewrite its member row with every grant. Also written
 * into the PostgreSQL host rule (src/store/migrations/host-rule.ts) as 1000.
 */
export const MEMBER_TOUCH_EVERY_MS = 1000;

/**
 * A new holder's membership, written at most once per MEMBER_TOUCH_EVERY_MS (parameters: lock
 * id, host id, acquired at, lock id, host id, acquired at - MEMBER_TOUCH_EVERY_MS). SQLite's
 * fast host rule (src/store/sqlite/host-rule.ts) runs the same statement.
 */
export const TOUCH_MEMBERSHIP_SQL = `INSERT INTO lock_members (lock_id, host_id, last_acquired_at)
       SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM lock_members
         WHERE lock_id = ? AND host_id = ? AND last_acquired_at > ?)
       ON CONFLICT (lock_id, host_id) DO UPDATE SET last_acquired_at = excluded.last_acquired_at
       WHERE lock_members.last_acquired_at IS NULL
         OR lock_members.last_acquired_at <= excluded.last_acquired_at - ${MEMBER_TOUCH_EVERY_MS}`;

export async function upsertHost(tx: Tx, host: HostIdentity, now: number): Promise<HostRef> {
  const known = await findHostForCheckIn(tx, host.name);
  if (known) {
    await checkInKnownHost(tx, known, now);
    return toHostRef(known);
  }
  return registerHost(tx, host, now);
}

/** A host's row as a check-in needs it. */
export type CheckInHost = HostRefRecord & { last_checkin_at: number | null };

export async function findHostForCheckIn(tx: Tx, name: string): Promise<CheckInHost | undefined> {
  // Nearly every request comes from a known host that checked in a moment ago: one read. On
  // PostgreSQL it takes the row's key-share lock (the check-in UPDATE does not conflict with
  // it): without it, an operator's DELETE of the host could commit between this read and the
  // holder or queue row written below, which then breaks the foreign key (a 500). With it the
  // deletion waits for this transaction, or this read waits for the deletion and finds no row.
  return tx.get<CheckInHost>(
    `SELECT id, name, can_acquire_locks, last_checkin_at FROM hosts WHERE name = ?${
      tx.dialect === 'postgres' ? ' FOR KEY SHARE' : ''
    }`,
    [name],
  );
}

/** Records the check-in when the last one is a second old or more; `known` is updated to match. */
export async function checkInKnownHost(tx: Tx, known: CheckInHost, now: number): Promise<void> {
  const last = known.last_checkin_at === null ? null : Number(known.last_checkin_at);
  if (last === null || now - last >= CHECKIN_EVERY_MS) {
    // Not deferred: the host row is locked before the lock row, in every path, so two
    // transactions never wait for each other's rows in opposite order.
    await tx.run('UPDATE hosts SET last_checkin_at = ? WHERE id = ?', [now, known.id]);
    known.last_checkin_at = now;
  }
}

/** An unknown host: registered when it may be, checked in now. */
export async function registerHost(tx: Tx, host: HostIdentity, now: number): Promise<HostRef> {
  if (!host.autoRegister) throw new AppError('unknown_host');
  const row = await tx.get<HostRefRecord>(
    `INSERT INTO hosts (name, created_at, last_checkin_at) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET last_checkin_at = excluded.last_checkin_at
     RETURNING id, name, can_acquire_locks`,
    [host.name, now, now],
  );
  if (!row) throw new AppError('unknown_host');
  return toHostRef(row);
}

export async function findHostById(q: Queryable, id: number): Promise<HostRef | undefined> {
  const row = await q.get<HostRefRecord>('SELECT id, name, can_acquire_locks FROM hosts WHERE id = ?', [id]);
  return row ? toHostRef(row) : undefined;
}

export async function findLockRecord(
  q: Queryable,
  ref: string,
  lockClause: string,
): Promise<LockRecord | undefined> {
  const id = numericId(ref);
  if (id !== undefined) {
    const byId = await q.get<LockRecord>(`SELECT ${LOCK_COLUMNS} FROM locks l WHERE l.id = ?${lockClause}`, [
      id,
    ]);
    if (byId) return byId;
  }
  return q.get<LockRecord>(`SELECT ${LOCK_COLUMNS} FROM locks l WHERE l.name = ?${lockClause}`, [ref]);
}

/** A lock row as a lock operation reads it: with whether any lock names it as parent. */
export type OpLockRecord = LockRecord & { has_children?: boolean | number };

/**
 * `findLockRecord` for a lock operation: whether the lock has children comes with the row, so
 * a lock outside every tree (nearly all) costs no second statement for its children's names.
 */
export async function findLockForOp(
  q: Queryable,
  ref: string,
  lockClause: string,
): Promise<OpLockRecord | undefined> {
  const columns = `${LOCK_COLUMNS}, EXISTS (SELECT 1 FROM locks c WHERE c.parent_id = l.id) AS has_children`;
  const id = numericId(ref);
  if (id !== undefined) {
    const byId = await q.get<OpLockRecord>(`SELECT ${columns} FROM locks l WHERE l.id = ?${lockClause}`, [
      id,
    ]);
    if (byId) return byId;
  }
  return q.get<OpLockRecord>(`SELECT ${columns} FROM locks l WHERE l.name = ?${lockClause}`, [ref]);
}

export async function loadHolders(q: Queryable, lockId: number): Promise<Holder[]> {
  const rows = await q.all<HolderRecord>(`${HOLDER_SELECT} WHERE lh.lock_id = ? ORDER BY lh.fencing_token`, [
    lockId,
  ]);
  return rows.map(toHolder);
}

export async function loadHoldersOf(q: Queryable, lockIds: number[]): Promise<Map<number, Holder[]>> {
  const byLock = new Map<number, Holder[]>();
  if (lockIds.length === 0) return byLock;
  const rows = await q.all<HolderRecord>(
    `${HOLDER_SELECT} WHERE lh.lock_id IN (${lockIds.map(() => '?').join(', ')}) ORDER BY lh.fencing_token`,
    lockIds,
  );
  for (const r of rows) {
    const list = byLock.get(Number(r.lock_id)) ?? [];
    list.push(toHolder(r));
    byLock.set(Number(r.lock_id), list);
  }
  return byLock;
}

/** The columns of a lock row and how to read each from the lock model. */
const LOCK_FIELDS: [column: string, value: (l: LockState) => unknown][] = [
  ['name', (l) => l.name],
  ['type', (l) => l.type],
  ['enabled', (l) => l.enabled],
  ['max_holders', (l) => l.maxHolders],
  ['lease_seconds', (l) => l.leaseSeconds],
  ['windows', (l) => windowsColumn(l.windows)],
  ['blackouts', (l) => blackoutsColumn(l.blackouts)],
  ['paused_until', (l) => l.pausedUntil],
  ['pause_reason', (l) => l.pauseReason],
  ['fencing_counter', (l) => l.fencingCounter],
  ['updated_at', (l) => l.updatedAt],
  ['gates', (l) => gatesColumn(l.gates)],
  ['max_holders_pct', (l) => l.maxHoldersPercent ?? null],
  ['members_days', (l) => l.membersDays ?? DEFAULT_MEMBERS_DAYS],
  ['parent_id', (l) => l.parentId ?? null],
];

/**
 * Fencing tokens never go backwards for a name (SPEC section 8): when a lock leaves a name
 * (deleted or renamed), its counter is kept under that name.
 */
export async function rememberFencingCounter(tx: Tx, lockName: string, counter: number): Promise<void> {
  await tx.defer(
    `INSERT INTO fencing_counters (lock_name, counter) VALUES (?, ?)
     ON CONFLICT (lock_name) DO UPDATE SET counter = CASE
       WHEN excluded.counter > fencing_counters.counter THEN excluded.counter ELSE fencing_counters.counter END`,
    [lockName, counter],
  );
}

/**
 * …and a lock that takes a name continues from the counter kept for it. A statement of its
 * own after the INSERT, so on PostgreSQL it sees a deletion committed while the INSERT waited.
 */
export async function inheritFencingCounter(tx: Tx, lockId: number): Promise<void> {
  await tx.run(
    `UPDATE locks SET fencing_counter = (SELECT counter FROM fencing_counters f WHERE f.lock_name = locks.name)
     WHERE id = ? AND fencing_counter < (SELECT counter FROM fencing_counters f WHERE f.lock_name = locks.name)`,
    [lockId],
  );
}

/**
 * The lock row as `applyNext(tx, prev, next)` leaves it in the database: only the columns that
 * differ between the two states are written, so only those change in `record`.
 */
export function recordAfter(record: LockRecord, prev: LockState, next: LockState): LockRecord {
  const after: Record<string, unknown> = { ...record };
  for (const [column, value] of LOCK_FIELDS) {
    if (value(prev) !== value(next)) after[column] = value(next);
  }
  return after as unknown as LockRecord;
}

/**
 * The holder rows as `applyNext(tx, prev, next)` leaves them, as `loadHolders` would read them
 * back (ordered by fencing token); undefined when a slot is held through a child lock, whose
 * name only the database knows for sure.
 */
export function holdersAfter(prev: LockState, next: LockState): Holder[] | undefined {
  const holders: Holder[] = [];
  // by host: a large semaphore has thousands of holders, one lookup each
  const before = new Map(prev.holders.map((o) => [o.hostId, o]));
  for (const h of next.holders) {
    if ((h.viaLockId ?? null) !== null) return undefined;
    const old = before.get(h.hostId);
    if (!old) {
      holders.push({
        hostId: h.hostId,
        hostName: h.hostName,
        acquiredAt: h.acquiredAt,
        refreshedAt: h.refreshedAt,
        fencingToken: h.fencingToken,
        expiresAt: h.expiresAt,
      });
    } else if ((old.viaLockId ?? null) !== null) {
      return undefined;
    } else {
      holders.push({ ...old, refreshedAt: h.refreshedAt, expiresAt: h.expiresAt });
    }
  }
  return holders.sort((a, b) => a.fencingToken - b.fencingToken);
}

/**
 * The stale reports of the holders a change keeps as they were (the lock model does not carry
 * them): read only when there is such a holder — a semaphore's other holders, a parent's other
 * slots. A refreshed, re-routed or new holder starts without one.
 */
async function keptStaleReports(
  tx: Tx,
  lockId: number,
  kept: ReadonlySet<number>,
): Promise<Map<number, number>> {
  const reports = new Map<number, number>();
  if (kept.size === 0) return reports;
  for (const stored of await readStoredHolders(tx, lockId)) {
    if (stored.stale_reported_at !== null && kept.has(stored.host_id)) {
      reports.set(stored.host_id, stored.stale_reported_at);
    }
  }
  return reports;
}

export async function applyNext(tx: Tx, prev: LockState, next: LockState): Promise<void> {
  // Only what changed: an acquire touches the counter, updated_at and the holders, not the name.
  const changed = LOCK_FIELDS.filter(([, value]) => value(prev) !== value(next));
  const sets = changed.map(([column]) => `${column} = ?`);
  const params = changed.map(([, value]) => value(next));
  const before = new Map(prev.holders.map((h) => [h.hostId, h]));
  const kept = keptHolders(before, next.holders);
  if (kept.size !== prev.holders.length || kept.size !== next.holders.length) {
    // The holders are part of the lock row (migration 14): the same UPDATE writes them.
    const reports = await keptStaleReports(tx, prev.id, kept);
    const c = holderColumns(toStoredHolders(next.holders, (hostId) => reports.get(hostId) ?? null));
    sets.push(holdersSet(tx));
    params.push(c.holders, c.holderCount, c.nextExpiry);
  }
  if (sets.length > 0) {
    const sql = `UPDATE locks SET ${sets.join(', ')} WHERE id = ?`;
    params.push(prev.id);
    if (next.name === prev.name) {
      await tx.defer(sql, params);
    } else {
      // A rename may collide with another lock's name: run it now to answer that with a 422.
      try {
        await tx.run(sql, params);
      } catch (err) {
        if (err instanceof UniqueViolation) throw validationError({ name: ['has already been taken'] });
        throw err;
      }
      await rememberFencingCounter(tx, prev.name, next.fencingCounter);
      await inheritFencingCounter(tx, prev.id);
    }
  }
  for (const h of next.holders) {
    if (before.has(h.hostId)) continue;
    // A new holder is a member from now (src/store/members.ts); a refresh writes nothing here.
    // A last_acquired_at younger than MEMBER_TOUCH_EVERY_MS is kept: on PostgreSQL it is
    // neither rewritten (a row version) nor locked (the NOT EXISTS), as in the host rule.
    await tx.defer(TOUCH_MEMBERSHIP_SQL, [
      prev.id,
      h.hostId,
      h.acquiredAt,
      prev.id,
      h.hostId,
      h.acquiredAt - MEMBER_TOUCH_EVERY_MS,
    ]);
  }
}

export async function insertEvents(
  tx: Tx,
  lockId: number | null,
  lockName: string,
  events: EventDraft[],
  now: number,
): Promise<void> {
  for (const e of events) {
    await tx.defer(
      `INSERT INTO lock_events (lock_id, lock_name, event_type, host_id, host_name, user_id, user_login, detail, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [lockId, lockName, e.type, e.hostId, e.hostName, e.userId, e.userLogin, e.detail, now],
    );
  }
}
