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
 * What a lock operation knows of the live queue (issue 10): its head, not necessarily all of
 * it. The rules only compare a position with the lock's free places (at most max_holders), and
 * only the head can be admitted or woken, so a store may read the first max_holders + 2 live
 * entries instead of a queue of thousands. A whole live queue (an array) is a view too.
 */
export interface QueueView {
  /** the first live waiters, first come first */
  head: readonly Waiter[];
  /** whether `head` is the whole live queue; if not, it holds more waiters than the lock has places */
  complete: boolean;
  /** the live entry the operation asked about, when it lies beyond the head */
  beyondHead?: Waiter;
}

export type LiveQueue = readonly Waiter[] | QueueView;

function viewOf(queue: LiveQueue): QueueView {
  return isWholeQueue(queue) ? { head: queue, complete: true } : queue;
}

function isWholeQueue(queue: LiveQueue): queue is readonly Waiter[] {
  return Array.isArray(queue);
}

/**
 * The view a store answers from a lock's entries in queue order (all of them, or the first
 * ones when `complete` is false): the live head of at most `headSize`, and the entries that
 * lapsed (time up, instance dead) among those read, which the operation deletes.
 */
export function viewQueue(
  entries: readonly Waiter[],
  now: number,
  options: { headSize: number; complete: boolean; own?: Waiter },
): { view: QueueView; lapsed: Waiter[] } {
  const head: Waiter[] = [];
  const lapsed: Waiter[] = [];
  let complete = options.complete;
  for (const w of entries) {
    if (!waiterIsLive(w, now)) lapsed.push(w);
    else if (head.length < options.headSize) head.push(w);
    else complete = false;
  }
  const own = options.own;
  const beyondHead =
    own && waiterIsLive(own, now) && !complete && !head.some((w) => w.id === own.id) ? own : undefined;
  return { view: beyondHead ? { head, complete, beyondHead } : { head, complete }, lapsed };
}

/** Whether the live queue holds this entry. */
export function isQueued(queue: LiveQueue, waiterId: number | undefined): boolean {
  if (waiterId === undefined) return false;
  const { head, beyondHead } = viewOf(queue);
  return beyondHead?.id === waiterId || head.some((w) => w.id === waiterId);
}

/**
 * How many live waiters are served before this request: those queued earlier than its own
 * entry, or all of them when it has none yet (it would join at the end). Beyond a partial
 * head the answer is the head's length: more than the lock has places, which is all a rule
 * asks of it.
 */
export function queuePosition(queue: LiveQueue, waiterId: number | undefined): number {
  const { head } = viewOf(queue);
  const mine = waiterId === undefined ? undefined : head.find((w) => w.id === waiterId);
  return mine ? head.filter((w) => w.id < mine.id).length : head.length;
}

/**
 * Whether a change may alter what a queued host is answered: someone left, the lock opened up,
 * or its calendar changed — a pause or a blackout that starts refuses the waiters at once
 * (`decideAcquire`), so they must hear of it now, not at the next release.
 */
export function mayAdmitWaiters(prev: LockState, next: LockState): boolean {
  return (
    next.holders.length < prev.holders.length ||
    next.maxHolders > prev.maxHolders ||
    (next.enabled && !prev.enabled) ||
    next.pausedUntil !== prev.pausedUntil ||
    JSON.stringify(next.blackouts) !== JSON.stringify(prev.blackouts) ||
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
  waiters: LiveQueue,
  wait: WaitState,
  admission: Admission = {},
): BlockingDecision {
  const queued = isQueued(waiters, wait.waiterId);
  const decision = decideAcquire(lock, host, now, { host }, queuePosition(waiters, wait.waiterId), {
    ...admission,
    blocking: true,
  });
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
