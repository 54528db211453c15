// Whom a lock operation wakes (runLockOp in src/store/sql-store.ts): only a lock with a queue has
// anyone to wake, and of its queue only the head, as many as places are free (src/lock/wake.ts);
// in a tree of nested locks, the waiters of the levels below a place that opened.
import type { HostRef, LockState } from '../../lock/types.js';
import { mayAdmitWaiters, type QueueView } from '../../lock/queue.js';
import { MAX_NAMED_WAITERS, waitersToWake } from '../../lock/wake.js';
import type { LockReads } from '../lock-reads.js';
import { waitingBelow } from '../nested-sql.js';
import type { Tx } from '../sql.js';
import type { HostLockMutation } from '../store.js';
import { queueAsk, type LockOpRequest, type LockOpState } from './context.js';

/** Tells the lock's waiters, here and (PostgreSQL) on every instance; `wake` names whom, else all. */
export type Signal = (tx: Tx, lockId: number, wake: number[] | undefined) => Promise<void>;

/**
 * The head of the queue the wake-up picks from. A limit raised beyond the head that was read
 * needs a longer one: the new places may admit as many.
 *
 * Why this second read stays: the new limit is known only once the rule has run, and the rule
 * needs the queue (a blocking acquire's place, a waiter leaving). It happens only when a change
 * raised the limit (an operator's update, a percentage lock gaining a member) on a lock whose
 * queue is longer than the head read; reading the largest head that could ever be woken
 * (MAX_NAMED_WAITERS + 2) up front instead would cost every operator change, every waiter that
 * leaves and every expiry a read of up to 300 queue rows on PostgreSQL.
 */
export async function wakeHead(
  tx: Tx,
  reads: LockReads,
  op: LockOpRequest,
  s: LockOpState,
  next: LockState | undefined,
): Promise<QueueView> {
  const head = s.read.queue;
  const size = Math.min(next?.maxHolders ?? 0, MAX_NAMED_WAITERS) + 2;
  if (head.complete || head.head.length >= size) return head;
  return (await reads.holdersAndQueue(tx, s.lock.id, queueAsk(op, s.now, size))).queue;
}

/**
 * Whether the change may let one of the lock's waiters in (someone left, the lock opened up,
 * its calendar changed), and if so whom to wake: undefined `wake` is all of them.
 */
export function whoToWake(
  s: LockOpState,
  mutation: HostLockMutation<unknown>,
  head: QueueView,
  enqueued: number | undefined,
): { changed: boolean; wake: number[] | undefined } {
  const next = mutation.next ?? s.lock;
  const changed =
    s.read.queued &&
    (mayAdmitWaiters(s.lock, next) || mutation.dequeue !== undefined || s.read.lapsed.length > 0);
  return {
    changed,
    wake: changed ? waitersToWake(next, queueAfter(head, mutation.dequeue, enqueued), s.now) : undefined,
  };
}

/**
 * The live queue's head after the change: the waiter served or gone leaves; a new entry joins
 * at the end, so it is in the head only when the head is the whole queue (a partial head still
 * holds more than the lock has places).
 */
function queueAfter(live: QueueView, dequeued: number | undefined, enqueued: number | undefined) {
  const ids = live.head.filter((w) => w.id !== dequeued).map((w) => ({ id: w.id }));
  if (enqueued !== undefined && live.complete) ids.push({ id: enqueued });
  return ids;
}

/**
 * Nested locks: every waiter of the freed levels and of the locks below them may try again
 * (`signalled`: a lock told already). Answers the locks signalled, for this instance's waiters.
 */
export async function signalBelow(
  tx: Tx,
  signal: Signal,
  freedLevels: readonly number[],
  signalled?: number,
): Promise<number[]> {
  const waiting = (await waitingBelow(tx, freedLevels)).filter((id) => id !== signalled);
  for (const id of waiting) await signal(tx, id, undefined);
  return waiting;
}

/**
 * Nested locks: the levels whose waiters, and those of the locks below them, may try again —
 * the ancestors where a place opened (`freedAbove`), this lock when one opened here, and the
 * whole tree (from its topmost lock) when a queue entry left it without a grant (its time up,
 * its client gone, lapsed). First come first served holds at every level
 * (src/lock/tree-queue.ts): that waiter may have held back later waiters on other levels of the
 * tree, which would otherwise notice only at their next re-check (10 s) or release.
 */
export function levelsToSignal(
  s: LockOpState,
  mutation: HostLockMutation<unknown>,
  host: HostRef | undefined,
  freedAbove: readonly number[],
): number[] {
  if (s.ancestors.length === 0 && s.children.length === 0) return [...freedAbove];
  const levels = [...freedAbove];
  const next = mutation.next ?? s.lock;
  if (mayAdmitWaiters(s.lock, next)) levels.push(s.lock.id);
  // a host's own entry leaves when it is served too: then it took the place it waited for
  const served = host !== undefined && next.holders.some((h) => h.hostId === host.id);
  const left = s.read.lapsed.length > 0 || (mutation.dequeue !== undefined && !served);
  if (left) levels.push(s.ancestors.at(-1)?.id ?? s.lock.id);
  return levels;
}
