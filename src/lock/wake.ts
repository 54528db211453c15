// Which queued hosts a change may let in. A blocking acquire waits until it can be admitted;
// waking every waiter on each change costs one transaction per waiter per hand-off, so a
// queue of N drains in O(N²). Only the head of the queue, as many as places are free, can
// get in; they alone are woken.
import { calendarRefusal } from './calendar.js';
import type { LockState } from './types.js';

/** Most waiter ids one change names; beyond that, every waiter of the lock is woken. */
export const MAX_NAMED_WAITERS = 200;

/**
 * `queue`: the live waiters after the change, first come first. Answers the ids of the waiters
 * that may now be admitted, or undefined for "all of them": a disabled or closed (paused,
 * blackout, outside its windows) lock refuses every waiter for good, so each must hear it, and beyond MAX_NAMED_WAITERS free places the list
 * would be longer than a notification should carry.
 */
export function waitersToWake(
  lock: LockState,
  queue: readonly { id: number }[],
  now: number,
): number[] | undefined {
  if (!lock.enabled) return undefined;
  // Paused, in a blackout or outside its windows: every waiter is refused at once (a blocking
  // acquire does not wait through a closed calendar, src/lock/rules.ts), so each must hear it.
  // Only a lock with a calendar pays for the check (a queue's hand-offs are the hot path).
  const hasCalendar = lock.pausedUntil !== null || lock.blackouts.length > 0 || lock.windows.length > 0;
  if (hasCalendar && calendarRefusal(lock, null, now) !== undefined) return undefined;
  // A holder whose lease ran out leaves at the next operation; its place counts as free.
  const holding = lock.holders.filter((h) => h.expiresAt === null || h.expiresAt > now).length;
  const free = Math.max(0, lock.maxHolders - holding);
  if (free > MAX_NAMED_WAITERS && queue.length > MAX_NAMED_WAITERS) return undefined;
  return queue.slice(0, free).map((w) => w.id);
}
