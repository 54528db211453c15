// What a lock operation reads before its rule runs (runLockOp in sql-store.ts): the host's
// check-in, the lock row, its holders and queue, its children's names, the global pause. Two
// strategies: the database itself (PostgreSQL: several instances write, so only the row taken
// FOR UPDATE is the truth), and on SQLite the single writer's own memory of what it wrote
// (src/store/sqlite/lock-cache.ts), which then has to hear what each operation changed.
import type { Pause } from '../lock/calendar.js';
import type { Holder, HostRef } from '../lock/types.js';
import type { Waiter } from '../lock/queue.js';
import { findLockForOp, loadHoldersAndQueue, upsertHost, type OpLockRecord } from './lock-sql.js';
import { loadChildNames } from './nested-sql.js';
import type { LockRecord } from './lock-rows.js';
import { readGlobalPause } from './settings-sql.js';
import type { Tx } from './sql.js';
import type { HostIdentity } from './store.js';

/** What one lock operation wrote, told after all its statements succeeded. */
export interface LockOpWrites {
  lockId: number;
  /** the lock row and its holders as the operation left them in the database */
  record: LockRecord;
  /** undefined: not known here (a slot held through a child), read again next time */
  holders?: Holder[];
  /** queue entries the operation deleted (served, gone, lapsed) */
  dequeued: readonly number[];
  /** the entry it added, if any */
  enqueued?: { id: number; hostId: number; deadline: number; instanceId: string };
  /**
   * other locks whose rows or holders it changed (ancestors of a nested lock): read again
   * from the database next time
   */
  alsoChanged: readonly number[];
  /**
   * the operation changed more than one lock can say (a deletion, a rename, a new parent):
   * every lock is read again from the database
   */
  forgetAll: boolean;
}

export interface LockReads {
  /** the host checked in (its `last_checkin_at` at most once a second), registered if allowed */
  checkIn(tx: Tx, host: HostIdentity, now: number): Promise<HostRef>;
  /** a lock by id or name, its row taken for update where the dialect has row locks */
  findLock(tx: Tx, ref: string): Promise<OpLockRecord | undefined>;
  holdersAndQueue(tx: Tx, lockId: number): Promise<{ holders: Holder[]; queue: readonly Waiter[] }>;
  /** the names of the lock's children, by name */
  childNames(tx: Tx, record: OpLockRecord): Promise<string[]>;
  /** the global pause in force at `now` (null: none) */
  globalPause(tx: Tx, now: number): Promise<Pause | null>;
  /** after the operation's statements succeeded, inside its transaction */
  wrote(tx: Tx, writes: LockOpWrites): Promise<void>;
}

/** Every read from the database: the PostgreSQL strategy, and SQLite's reference. */
export const DATABASE_READS: LockReads = {
  checkIn: (tx, host, now) => upsertHost(tx, host, now),
  findLock: (tx, ref) => findLockForOp(tx, ref, tx.forUpdate),
  holdersAndQueue: (tx, lockId) => loadHoldersAndQueue(tx, lockId),
  // a lock row read without the flag (none today) asks the database
  childNames: async (tx, record) =>
    record.has_children === undefined || Boolean(record.has_children)
      ? loadChildNames(tx, Number(record.id))
      : [],
  globalPause: (tx, now) => readGlobalPause(tx, now),
  wrote: async () => undefined,
};
