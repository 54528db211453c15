// Locks as operators and lists see them: one lock by id or name, a page of the list (filtered,
// sorted), a new lock. Each with its holders, members and family names, read on a committed
// view; the lock operations' own reads are in src/store/lock-op/.
import { DEFAULT_MEMBERS_DAYS, membershipCutoff } from '../lock/members.js';
import { assertParent } from '../lock/nested.js';
import { eventFor, type Actor, type LockState } from '../lock/types.js';
import { usesWindowState } from '../search/parse.js';
import { withFamily } from './lock-op/family.js';
import {
  findLockRecord,
  inheritFencingCounter,
  insertEvents,
  insertUnique,
  loadHolders,
  loadHoldersOf,
} from './lock-sql.js';
import {
  LOCK_COLUMNS,
  blackoutsColumn,
  gatesColumn,
  toLockState,
  windowsColumn,
  type LockRecord,
} from './lock-rows.js';
import { countMembers, countMembersOf } from './members.js';
import { resolveParent, withFamilyNames } from './nested-sql.js';
import { compileFilter } from './search-sql.js';
import type { Dialect, Tx } from './sql.js';
import type { ListLocksQuery, NewLock } from './store.js';
import { lockIdsOutsideWindow } from './window-state.js';

/** One lock by id or name (foreman_dlm's order), with its holders, members and family. */
export async function readLock(q: Tx, ref: string): Promise<LockState | undefined> {
  const record = await findLockRecord(q, ref, '');
  if (!record) return undefined;
  const cutoff = membershipCutoff(await q.now(), Number(record.members_days));
  const { count } = await countMembers(q, Number(record.id), cutoff);
  const [lock] = await withFamilyNames(q, [
    toLockState(record, await loadHolders(q, Number(record.id)), count),
  ]);
  return lock;
}

/** A page of the lock list: the total, the filter's subtotal, the locks in the order asked. */
export async function readLockList(q: Tx, dialect: Dialect, query: ListLocksQuery) {
  const now = await q.now();
  const outsideWindow = usesWindowState(query.filter) ? await lockIdsOutsideWindow(q, now) : undefined;
  const where = query.filter
    ? compileFilter(query.filter, dialect, {
        staleCutoff: now - query.staleAfterMs,
        now,
        outsideWindow,
      })
    : { sql: '1 = 1', params: [] };
  const total = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM locks');
  // Without a filter the subtotal is the total: a second `WHERE 1 = 1` count is a full scan
  // on SQLite (15 ms at 100k locks), where the plain count is not.
  const subtotal = query.filter
    ? await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM locks l WHERE ${where.sql}`, where.params)
    : total;
  const direction = query.order.desc ? 'DESC' : 'ASC';
  // Text sorts case-insensitively with a binary tie-break, so both stores (and every
  // PostgreSQL collation) list locks in the same order.
  const column = `l.${query.order.by}`;
  const orderParams: number[] = [];
  let sortKey: string;
  if (query.order.by === 'held_since') {
    // what needs an operator first: stale, then held longest, then free (NULLs sort
    // differently on the two stores, hence no NULL in the keys)
    sortKey = `(SELECT CASE WHEN MIN(h.refreshed_at) < ? THEN 0 WHEN COUNT(*) > 0 THEN 1 ELSE 2 END
         FROM lock_holders h WHERE h.lock_id = l.id) ${direction},
       COALESCE((SELECT MIN(h.acquired_at) FROM lock_holders h WHERE h.lock_id = l.id), 0) ${direction},
       LOWER(l.name) ${direction}, l.name ${direction}`;
    orderParams.push(now - query.staleAfterMs);
  } else if (query.order.by === 'name' || query.order.by === 'type') {
    sortKey = `LOWER(${column}) ${direction}, ${column} ${direction}`;
  } else {
    sortKey = `${column} ${direction}`;
  }
  const records = await q.all<LockRecord>(
    `SELECT ${LOCK_COLUMNS} FROM locks l WHERE ${where.sql}
     ORDER BY ${sortKey}, l.id ${direction} LIMIT ? OFFSET ?`,
    [...where.params, ...orderParams, query.limit, query.offset],
  );
  const ids = records.map((r) => Number(r.id));
  const holders = await loadHoldersOf(q, ids);
  const members = await countMembersOf(q, ids, now);
  return {
    total: Number(total?.n ?? 0),
    subtotal: Number(subtotal?.n ?? 0),
    locks: await withFamilyNames(
      q,
      records.map((r) => toLockState(r, holders.get(Number(r.id)) ?? [], members.get(Number(r.id)) ?? 0)),
    ),
    now,
  };
}

/** A new lock (an operator's), with its `create` event and the fencing counter its name had. */
export async function insertLock(tx: Tx, input: NewLock, actor: Actor): Promise<LockState> {
  const now = await tx.now();
  // Nested locks: the parent must exist and the chain stay within its depth.
  const parent = input.parent == null ? undefined : await resolveParent(tx, input.parent);
  if (input.parent != null) assertParent(undefined, parent, 0);
  const record = await insertUnique(
    tx,
    `INSERT INTO locks (name, type, enabled, max_holders, lease_seconds, windows, created_at, updated_at,
       blackouts, paused_until, pause_reason, max_holders_pct, members_days, parent_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${LOCK_COLUMNS.replace(/l\./g, '')}`,
    [
      input.name,
      input.type,
      input.enabled,
      input.maxHolders,
      input.leaseSeconds,
      windowsColumn(input.windows),
      now,
      now,
      blackoutsColumn(input.blackouts ?? []),
      input.pausedUntil ?? null,
      input.pauseReason ?? null,
      input.maxHoldersPercent ?? null,
      input.membersDays ?? DEFAULT_MEMBERS_DAYS,
      parent?.id ?? null,
    ],
  );
  // a new lock has no members yet
  const created = {
    ...withFamily(toLockState(record as LockRecord, [], 0), parent?.name, []),
    gates: input.gates ?? [],
  };
  if (created.gates.length > 0) {
    await tx.run('UPDATE locks SET gates = ? WHERE id = ?', [gatesColumn(created.gates), created.id]);
  }
  await inheritFencingCounter(tx, created.id);
  const lock = { ...created, fencingCounter: await currentFencingCounter(tx, created.id) };
  await insertEvents(tx, lock.id, lock.name, [eventFor('create', actor)], now);
  return lock;
}

async function currentFencingCounter(tx: Tx, lockId: number): Promise<number> {
  const row = await tx.get<{ fencing_counter: number }>('SELECT fencing_counter FROM locks WHERE id = ?', [
    lockId,
  ]);
  return Number(row?.fencing_counter ?? 0);
}
