// Blocking acquires wait in a queue that lives in the database, so every instance sees it. A
// queue entry belongs to the instance whose request is waiting: it counts only while its time
// is not up and that instance is alive (its heartbeat lease, by the database clock, has not
// run out). A killed instance's entries thus stop blocking others within one lease.

export interface QueuedWaiter {
  deadline: number;
  /** when the owning instance's heartbeat lease runs out; null when the instance is gone */
  instanceExpiresAt: number | null;
}

export function waiterIsLive(waiter: QueuedWaiter, now: number): boolean {
  return waiter.deadline > now && waiter.instanceExpiresAt !== null && waiter.instanceExpiresAt > now;
}
