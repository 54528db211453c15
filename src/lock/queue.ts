// Blocking acquires wait in a queue that lives in the database, so every instance sees it. A
// queue entry belongs to the instance whose request is waiting: it counts only while its time
// is not up and that instance is alive (its heartbeat lease, by the database clock, has not
// run out). A killed instance's entries thus stop blocking others within one lease.
import { decideAcquire, WAITABLE, type Admission, type Decision } from './rules.js';
import type { EventDraft, HostRef, LockState } from './types.js';

export interface QueuedWaiter {
  deadline: number;
  /** when the owning instance's heartbeat lease runs out; null when the instance is gone */
  instanceExpiresAt: number | null;
}

/** A host queued for a lock by a blocking acquire. */
export interface Waiter extends QueuedWaiter {
  id: number;
  hostId: number;
}

export function waiterIsLive(waiter: QueuedWaiter, now: number): boolean {
  return waiter.deadline > now && waiter.instanceExpiresAt !== null && waiter.instanceExpiresAt > now;
}

/**
 * How many live waiters are served before this request: those queued earlier than its own
 * entry, or all of them when it has none yet (it would join at the end).
 */
export function queuePosition(waiters: readonly Waiter[], waiterId: number | undefined): number {
  const mine = waiters.find((w) => w.id === waiterId);
  return mine ? waiters.filter((w) => w.id < mine.id).length : waiters.length;
}

/** Whether a change may let a queued host in: someone left, or the lock opened up. */
export function mayAdmitWaiters(prev: LockState, next: LockState): boolean {
  return (
    next.holders.length < prev.holders.length ||
    next.maxHolders > prev.maxHolders ||
    (next.enabled && !prev.enabled) ||
    JSON.stringify(next.windows) !== JSON.stringify(prev.windows) ||
    JSON.stringify(next.gates ?? []) !== JSON.stringify(prev.gates ?? [])
  );
}

/** Where a blocking acquire stands between its attempts. */
export interface WaitState {
  /** its queue entry, once it has one */
  waiterId?: number;
  /** when its time is up (database clock) */
  deadline: number;
  /** the last attempt (its time ran out while asleep): no more waiting whatever the answer */
  final: boolean;
}

export interface BlockingDecision {
  decision: Decision;
  /** refused for now, for a reason that may pass, with time left: wait for a change */
  keepWaiting: boolean;
  /** the events to record: only the final refusal is a `fail`, not every wake-up */
  events: EventDraft[];
  /** join the queue (first refusal that keeps waiting) */
  enqueue?: { deadline: number };
  /** leave the queue: granted, refused for good, or out of time */
  dequeue?: number;
}

/** One attempt of a blocking acquire: the acquire rule behind the queue, and what follows. */
export function decideBlockingAcquire(
  lock: LockState,
  host: HostRef,
  now: number,
  waiters: readonly Waiter[],
  wait: WaitState,
  admission: Admission = {},
): BlockingDecision {
  const queued = waiters.some((w) => w.id === wait.waiterId);
  const decision = decideAcquire(lock, host, now, { host }, queuePosition(waiters, wait.waiterId), admission);
  // the service checks the gates and asks again at once: no waiting, no change to the queue
  if (!decision.ok && decision.reason === 'gates_needed')
    return { decision, keepWaiting: false, events: decision.events };
  const keepWaiting = !decision.ok && WAITABLE.has(decision.reason) && !wait.final && now < wait.deadline;
  return {
    decision,
    keepWaiting,
    events: keepWaiting ? decision.events.filter((e) => e.type !== 'fail') : decision.events,
    enqueue: keepWaiting && !queued ? { deadline: wait.deadline } : undefined,
    dequeue: !keepWaiting && queued ? wait.waiterId : undefined,
  };
}
