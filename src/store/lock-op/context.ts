// The reading half of a lock operation (runLockOp in src/store/sql-store.ts): the lock found or
// created, its holders and the head of its queue, its family in the tree, the host an operator
// names, its members and the global pause. Everything the rule decides on, read in the
// operation's own transaction; nothing here decides.
import { eventFor, type Actor, type HostRef, type LockState } from '../../lock/types.js';
import { membershipCutoff } from '../../lock/members.js';
import type { Family, ParentTarget } from '../../lock/nested.js';
import type { Pause } from '../../lock/calendar.js';
import { findHostById, inheritFencingCounter, insertEvents, type OpLockRecord } from '../lock-sql.js';
import type { HoldersAndQueue, LockReads, QueueAsk } from '../lock-reads.js';
import { LOCK_COLUMNS, placesOf, toLockState, type LockRecord } from '../lock-rows.js';
import { countMembers } from '../members.js';
import { loadAncestors, loadSiblings, loadTreeQueue, resolveParent, subtreeHeight } from '../nested-sql.js';
import type { Tx } from '../sql.js';
import type { HostLockOp } from '../store.js';
import { withFamily } from './family.js';

/** What a lock operation names, as its steps need it (the fields `LockOp` and `HostLockOp` share). */
export interface LockOpRequest {
  ref: string;
  actor: Actor;
  targetHostId?: number;
  parentRef?: string;
  waiterId?: number;
  sweepQueue?: boolean;
}

/** A host's request: it may create the lock (foreman_dlm), and may be admitted through the tree. */
export type HostRequest = Pick<HostLockOp<unknown>, 'createIfMissing' | 'createWith'>;

/** Rolls a lock operation's transaction back when its lock does not exist. */
export class NoSuchLock extends Error {}

/** What the rule of a lock operation is told, and what its writing steps start from. */
export interface LockOpState {
  now: number;
  /** the lock row as read (taken for update where the dialect has row locks) */
  record: OpLockRecord;
  /** the lock as the rule sees it, with its family's names and (where counted) its members */
  lock: LockState;
  /** the holders, the head of the live queue, the lapsed entries met on the way */
  read: HoldersAndQueue;
  ancestors: LockState[];
  children: string[];
  family: Family;
  newParent?: { target: ParentTarget | undefined; subtreeHeight: number };
  targetHost?: HostRef;
  /** counted where the limit depends on them, and for operators' changes (their answer shows it) */
  members?: { count: number; hostIsMember: boolean };
  /** the host a change may make a member: the requesting host, or the one an operator names */
  candidate?: number;
  /** host requests only (they may admit a holder) */
  globalPause?: Pause | null;
}

/**
 * The lock by id or name; a host's request creates a missing one (with its `create` event and the
 * fencing counter its name had). No such lock: NoSuchLock, so nothing is written, not even the
 * host's check-in (FleetLock relies on it).
 */
export async function findOrCreateLock(
  tx: Tx,
  reads: LockReads,
  op: LockOpRequest,
  create: HostRequest | undefined,
  now: number,
): Promise<OpLockRecord> {
  let record = await reads.findLock(tx, op.ref);
  if (!record && create?.createIfMissing) {
    const created = await tx.get<{ id: number }>(
      `INSERT INTO locks (name, type, enabled, max_holders, created_at, updated_at)
       VALUES (?, 'ForemanDlm::Dlmlock::Update', ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id`,
      [op.ref, true, create.createWith?.maxHolders ?? 1, now, now],
    );
    if (created) {
      await inheritFencingCounter(tx, Number(created.id));
      await insertEvents(tx, Number(created.id), op.ref, [eventFor('create', op.actor)], now);
    }
    // by its name: a lock created meanwhile with the ref as its id is not this one
    record = await tx.get<LockRecord>(`SELECT ${LOCK_COLUMNS} FROM locks l WHERE l.name = ?${tx.forUpdate}`, [
      op.ref,
    ]);
  }
  if (!record) throw new NoSuchLock();
  return record;
}

/** The queue as an operation asks for it: its live head of `headSize`, and its own entry. */
export function queueAsk(op: LockOpRequest, now: number, headSize: number): QueueAsk {
  return { now, headSize, waiterId: op.waiterId, sweep: op.sweepQueue };
}

/**
 * Everything the rule reads besides the lock row. Statement order matters on PostgreSQL: the
 * lock's row was taken first, the ancestors' rows are taken after it, upward
 * (src/store/nested-sql.ts); the host and members reads before them take no row lock.
 */
export async function readLockOpState(
  tx: Tx,
  reads: LockReads,
  op: LockOpRequest,
  hostRequest: boolean,
  hostId: number | undefined,
  record: OpLockRecord,
  now: number,
): Promise<LockOpState> {
  const lockId = Number(record.id);
  // Members are counted where the limit depends on them, and for operators' changes (their
  // answer shows the count); a host polling a fixed-limit lock is spared the count. Counted
  // before the queue is read: a limit in percent of them says how long a head to read.
  const targetHost = op.targetHostId === undefined ? undefined : await findHostById(tx, op.targetHostId);
  const candidate = hostId ?? targetHost?.id;
  const members =
    !hostRequest || record.max_holders_pct !== null
      ? await countMembers(tx, lockId, membershipCutoff(now, Number(record.members_days)), candidate ?? null)
      : undefined;
  // The queue's head only, read once: as many live entries as could be admitted, and one more
  // each way (src/lock/queue.ts QueueView).
  const read = await reads.holdersAndQueue(
    tx,
    lockId,
    queueAsk(op, now, placesOf(record, members?.count ?? null) + 2),
  );
  const ancestors = await loadAncestors(tx, record.parent_id);
  const children = await reads.childNames(tx, record);
  const family: Family = {
    ancestors,
    siblings: await loadSiblings(
      tx,
      ancestors.map((a) => a.id),
      [...read.holders.map((h) => h.hostId), ...(hostId === undefined ? [] : [hostId])],
    ),
    // host requests only: an operator's change or a job admits nobody through the tree
    tree: hostRequest
      ? await loadTreeQueue(tx, { lockId, ancestors, hasChildren: children.length > 0 }, now, op.waiterId)
      : undefined,
  };
  const newParent =
    op.parentRef === undefined
      ? undefined
      : { target: await resolveParent(tx, op.parentRef), subtreeHeight: await subtreeHeight(tx, lockId) };
  const lock = withFamily(
    toLockState(record, read.holders, members?.count ?? null),
    ancestors[0]?.name,
    children,
  );
  // host requests may admit a holder: the global pause is read in this same transaction
  const globalPause = hostRequest ? await reads.globalPause(tx, now) : undefined;
  return {
    now,
    record,
    lock,
    read,
    ancestors,
    children,
    family,
    newParent,
    targetHost,
    members,
    candidate,
    globalPause,
  };
}
