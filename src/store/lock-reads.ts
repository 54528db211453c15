// What a lock operation reads before its rule runs (src/store/lock-op/context.ts): the host's
// check-in, the lock row, its holders and queue, its children's names, the global pause. Two
// strategies: the database itself (PostgreSQL: several instances write, so only the row taken
// FOR UPDATE is the truth), and on SQLite the single writer's own memory of what it wrote
// (src/store/sqlite/lock-cache.ts), which then has to hear what each operation changed.
import type { Pause } from '../lock/calendar.js';
import type { Holder, HostRef } from '../lock/types.js';
import { viewQueue, type QueueView, type Waiter } from '../lock/queue.js';
import {
  findLockForOp,
  loadHoldersAndQueue,
  loadHoldersAndQueueStart,
  upsertHost,
  type OpLockRecord,
} from './lock-sql.js';
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
  /** the lock's holders and what the rules need of its queue (see `QueueAsk`) */
  holdersAndQueue(tx: Tx, lockId: number, ask: QueueAsk): Promise<HoldersAndQueue>;
  /** the names of the lock's children, by name */
  childNames(tx: Tx, record: OpLockRecord): Promise<string[]>;
  /** the global pause in force at `now` (null: none) */
  globalPause(tx: Tx, now: number): Promise<Pause | null>;
  /** after the operation's statements succeeded, inside its transaction */
  wrote(tx: Tx, writes: LockOpWrites): Promise<void>;
}

/** What a lock operation asks of the queue. */
export interface QueueAsk {
  now: number;
  /** at least this many live entries at the head, when there are as many */
  headSize: number;
  /** the entry the operation asks about (a blocking acquire's own), wherever it stands */
  waiterId?: number;
  /** the whole queue is read, so every lapsed entry is found (the expiry job) */
  sweep?: boolean;
}

export interface HoldersAndQueue {
  holders: Holder[];
  queue: QueueView;
  /** lapsed entries (time up, instance dead) met on the way, to delete (the expiry job gets the rest) */
  lapsed: readonly Waiter[];
  /** whether the lock has any queue entry at all, live or lapsed */
  queued: boolean;
}

/** Lapsed entries a reader steps over per operation before it reads the whole queue instead. */
const LAPSED_PER_OP = 100;

/** From the database: the first entries of the queue, enough for a live head of `headSize`. */
async function readHoldersAndQueue(tx: Tx, lockId: number, ask: QueueAsk): Promise<HoldersAndQueue> {
  if (ask.sweep) {
    const whole = await loadHoldersAndQueue(tx, lockId);
    return wholeQueue(whole.holders, whole.queue, ask.now);
  }
  const read = await loadHoldersAndQueueStart(tx, lockId, ask.headSize + LAPSED_PER_OP, ask.waiterId);
  const { view, lapsed } = viewQueue(read.entries, ask.now, {
    headSize: ask.headSize,
    complete: !read.more,
    own: read.own,
  });
  if (view.complete || view.head.length >= ask.headSize) {
    return { holders: read.holders, queue: view, lapsed, queued: read.entries.length > 0 };
  }
  // more lapsed entries than LAPSED_PER_OP before the head: the whole queue, as before issue 10
  const whole = await loadHoldersAndQueue(tx, lockId);
  return wholeQueue(whole.holders, whole.queue, ask.now);
}

/** A reader that has the whole queue (SQLite's cache): every live entry is the head. */
export function wholeQueue(holders: Holder[], queue: readonly Waiter[], now: number): HoldersAndQueue {
  const { view, lapsed } = viewQueue(queue, now, { headSize: Infinity, complete: true });
  return { holders, queue: view, lapsed, queued: queue.length > 0 };
}

/** Every read from the database: the PostgreSQL strategy, and SQLite's reference. */
export const DATABASE_READS: LockReads = {
  checkIn: (tx, host, now) => upsertHost(tx, host, now),
  findLock: (tx, ref) => findLockForOp(tx, ref, tx.forUpdate),
  holdersAndQueue: readHoldersAndQueue,
  // a lock row read without the flag (none today) asks the database
  childNames: async (tx, record) =>
    record.has_children === undefined || Boolean(record.has_children)
      ? loadChildNames(tx, Number(record.id))
      : [],
  globalPause: (tx, now) => readGlobalPause(tx, now),
  wrote: async () => undefined,
};
