// Nested locks' statements (issue 11, migration 11): a lock's ancestors (rows taken for update,
// nearest first), children, the holdings of other children that keep a shared parent slot, a
// new parent's chain, and the waiters a release higher up may let in.
//
// Lock order: a transaction takes its lock's row first and then the ancestors' rows upward,
// never a descendant's after an ancestor's. Every transaction that waits for a row thus waits
// for one higher up the tree than all it holds, so no two can wait for each other (a deadlock
// needs a cycle); PostgreSQL retries the rare one that reparenting could still cause.
import { MAX_NESTING_DEPTH, type ParentTarget, type SiblingHolding } from '../lock/nested.js';
import type { LockState } from '../lock/types.js';
import type { TreeQueue, TreeWaiter, WaiterLock } from '../lock/tree-queue.js';
import { findLockRecord, loadHolders, loadHoldersOf } from './lock-sql.js';
import { countMembers } from './members.js';
import { membershipCutoff } from '../lock/members.js';
import { LOCK_COLUMNS, toLockState, type LockRecord } from './lock-rows.js';
import type { Queryable, Tx } from './sql.js';

/** The ancestors of a lock whose parent is `parentId`, nearest first, each row taken for update. */
export async function loadAncestors(tx: Tx, parentId: number | null | undefined): Promise<LockState[]> {
  const ancestors: LockState[] = [];
  let next = parentId ?? null;
  // bounded: a chain is at most MAX_NESTING_DEPTH long (validated), and never a cycle
  while (next !== null && ancestors.length < MAX_NESTING_DEPTH) {
    const record = await tx.get<LockRecord>(
      `SELECT ${LOCK_COLUMNS} FROM locks l WHERE l.id = ?${tx.forUpdate}`,
      [next],
    );
    if (!record) break;
    // the holders only: an ancestor's own queue is not this operation's business
    const holders = await loadHolders(tx, Number(record.id));
    // a percentage limit at this level ("at most 10 % of the data centre") counts its members
    const members =
      record.max_holders_pct === null || record.max_holders_pct === undefined
        ? null
        : (
            await countMembers(
              tx,
              Number(record.id),
              membershipCutoff(await tx.now(), Number(record.members_days)),
            )
          ).count;
    const lock = toLockState(record, holders, members);
    ancestors.push(lock);
    next = lock.parentId ?? null;
  }
  ancestors.forEach((a, i) => {
    if (ancestors[i + 1]) a.parent = ancestors[i + 1]!.name;
  });
  return ancestors;
}

export async function loadChildNames(q: Queryable, lockId: number): Promise<string[]> {
  const rows = await q.all<{ name: string }>('SELECT name FROM locks WHERE parent_id = ? ORDER BY name', [
    lockId,
  ]);
  return rows.map((r) => r.name);
}

/** Which other children of the ancestors the given hosts hold (they keep a shared slot). */
export async function loadSiblings(
  q: Queryable,
  ancestorIds: readonly number[],
  hostIds: readonly number[],
): Promise<SiblingHolding[]> {
  if (ancestorIds.length === 0 || hostIds.length === 0) return [];
  const rows = await q.all<{ host_id: number; parent_id: number; child_id: number }>(
    `SELECT lh.host_id, c.parent_id, c.id AS child_id FROM lock_holders lh JOIN locks c ON c.id = lh.lock_id
     WHERE c.parent_id IN (${ancestorIds.map(() => '?').join(', ')})
       AND lh.host_id IN (${hostIds.map(() => '?').join(', ')})`,
    [...ancestorIds, ...hostIds],
  );
  return rows.map((r) => ({
    hostId: Number(r.host_id),
    parentId: Number(r.parent_id),
    childId: Number(r.child_id),
  }));
}

export type { ParentTarget };

export async function resolveParent(tx: Tx, ref: string): Promise<ParentTarget | undefined> {
  const record = await findLockRecord(tx, ref, tx.forUpdate);
  if (!record) return undefined;
  const ancestors = await loadAncestors(tx, record.parent_id);
  return {
    id: Number(record.id),
    name: record.name,
    chainIds: [Number(record.id), ...ancestors.map((a) => a.id)],
  };
}

/** How many levels hang below a lock (0: no children). */
export async function subtreeHeight(q: Queryable, lockId: number): Promise<number> {
  const row = await q.get<{ h: number | null }>(
    `WITH RECURSIVE d(id, depth) AS (
       SELECT id, 1 FROM locks WHERE parent_id = ?
       UNION ALL SELECT l.id, d.depth + 1 FROM locks l JOIN d ON l.parent_id = d.id WHERE d.depth < ?)
     SELECT MAX(depth) AS h FROM d`,
    [lockId, MAX_NESTING_DEPTH + 1],
  );
  return Number(row?.h ?? 0);
}

/**
 * Locks with a queue that a freed place in `lockIds` may let in: those locks themselves and
 * every descendant (a child's waiter waits for each level above it).
 */
export async function waitingBelow(q: Queryable, lockIds: readonly number[]): Promise<number[]> {
  if (lockIds.length === 0) return [];
  const rows = await q.all<{ lock_id: number }>(
    `WITH RECURSIVE d(id, depth) AS (
       SELECT id, 0 FROM locks WHERE id IN (${lockIds.map(() => '?').join(', ')})
       UNION ALL SELECT l.id, d.depth + 1 FROM locks l JOIN d ON l.parent_id = d.id WHERE d.depth < ?)
     SELECT DISTINCT w.lock_id FROM lock_waiters w WHERE w.lock_id IN (SELECT id FROM d)`,
    [...lockIds, MAX_NESTING_DEPTH],
  );
  return rows.map((r) => Number(r.lock_id));
}

/** How many of a tree's earlier waiters one operation reads (the earliest; src/lock/tree-queue.ts). */
const TREE_WAITERS_READ = 256;

/**
 * The earlier live waiters of a nested lock's tree — the subtree of its topmost ancestor — for
 * first come first served at every level (src/lock/tree-queue.ts): those queued before the
 * entry `beforeId` (all when the request has none), each with the deepest lock of the chain
 * above it, and the place count of the locks they queued at. Undefined for a lock outside
 * every tree (no statement then). Read, not taken for update: rows below the lock's own are
 * never locked after it (see the lock order above).
 */
export async function loadTreeQueue(
  q: Queryable,
  chain: { lockId: number; ancestors: readonly LockState[]; hasChildren: boolean },
  now: number,
  beforeId: number | undefined,
): Promise<TreeQueue | undefined> {
  if (chain.ancestors.length === 0 && !chain.hasChildren) return undefined;
  const chainIds = [chain.lockId, ...chain.ancestors.map((a) => a.id)];
  const top = chainIds[chainIds.length - 1]!;
  const rows = await q.all<{
    id: number;
    host_id: number;
    lock_id: number;
    level_id: number;
    enabled: boolean | number;
    max_holders: number;
  }>(
    `WITH RECURSIVE t(id, level_id, depth) AS (
       SELECT id, id, 0 FROM locks WHERE id = ?
       UNION ALL
       SELECT l.id, CASE WHEN l.id IN (${chainIds.map(() => '?').join(', ')}) THEN l.id ELSE t.level_id END,
              t.depth + 1
       FROM locks l JOIN t ON l.parent_id = t.id WHERE t.depth < ?)
     SELECT w.id, w.host_id, w.lock_id, t.level_id, l.enabled, l.max_holders
     FROM lock_waiters w JOIN t ON t.id = w.lock_id JOIN locks l ON l.id = w.lock_id
       JOIN instances i ON i.id = w.instance_id
     WHERE w.id < ? AND w.deadline > ? AND i.expires_at > ?
     ORDER BY w.id LIMIT ?`,
    [top, ...chainIds, MAX_NESTING_DEPTH, beforeId ?? Number.MAX_SAFE_INTEGER, now, now, TREE_WAITERS_READ],
  );
  const waiters: TreeWaiter[] = rows.map((r) => ({
    id: Number(r.id),
    hostId: Number(r.host_id),
    lockId: Number(r.lock_id),
    chainLevelId: Number(r.level_id),
  }));
  const lockIds = [...new Set(waiters.map((w) => w.lockId))];
  const holders = await loadHoldersOf(q, lockIds);
  const locks = new Map<number, WaiterLock>();
  for (const r of rows) {
    const id = Number(r.lock_id);
    if (locks.has(id)) continue;
    const live = (holders.get(id) ?? []).filter((h) => h.expiresAt === null || h.expiresAt > now);
    locks.set(id, { enabled: Boolean(r.enabled), maxHolders: Number(r.max_holders), holding: live.length });
  }
  return { waiters, locks };
}

/** Fills in the parent's name and the children's names of listed locks (one statement). */
export async function withFamilyNames(q: Queryable, locks: LockState[]): Promise<LockState[]> {
  if (locks.length === 0) return locks;
  const ids = locks.map((l) => l.id);
  const parentIds = [...new Set(locks.map((l) => l.parentId).filter((p): p is number => p != null))];
  const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');
  const rows = await q.all<{ id: number; name: string; parent_id: number | null }>(
    `SELECT id, name, parent_id FROM locks WHERE parent_id IN (${marks(ids.length)})${
      parentIds.length ? ` OR id IN (${marks(parentIds.length)})` : ''
    }`,
    [...ids, ...parentIds],
  );
  const nameOf = new Map(rows.map((r) => [Number(r.id), r.name]));
  if (rows.length === 0) return locks;
  return locks.map((l) => {
    const parent = l.parentId == null ? undefined : nameOf.get(l.parentId);
    const children = rows
      .filter((r) => r.parent_id !== null && Number(r.parent_id) === l.id)
      .map((r) => r.name)
      .sort();
    // only where there are any: a lock outside every tree stays as it was
    return {
      ...l,
      ...(parent === undefined ? {} : { parent }),
      ...(children.length === 0 ? {} : { children }),
    };
  });
}
