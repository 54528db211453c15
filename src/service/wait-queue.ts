// Wake-ups for blocking acquires. The queue itself (its order and who is in it) lives in the
// database; this is the instance's registry of its own waiting requests, one FIFO per lock,
// behind one subscription to the store's change notifications. A change names the waiters at
// the head of the queue that may now be admitted (`waitersToWake`), so a hand-off wakes only
// them — one transaction each — instead of every waiter on the lock: draining a queue of N
// costs O(N) transactions, not O(N²).
//
// No wake-up is lost: a request between two attempts (not yet in the registry, or between its
// attempt and its wait) finds the changes it missed in a short history, and a slow fallback
// re-checks the first local waiter of each lock, in case a notification never came.
import type { Store } from '../store/store.js';

export type WakeReason = 'changed' | 'timeout' | 'aborted';

/** Changes remembered for requests that were between attempts; older means "assume missed". */
const HISTORY = 1024;
/** How often the first local waiter of each lock re-checks without being woken. */
const FALLBACK_MS = 10_000;

interface Change {
  seq: number;
  lockId: number | null;
  wake: readonly number[] | undefined;
}

function concerns(change: Change, lockId: number | undefined, waiterId: number | undefined): boolean {
  if (change.lockId === null || lockId === undefined) return true;
  if (change.lockId !== lockId) return false;
  return change.wake === undefined || waiterId === undefined || change.wake.includes(waiterId);
}

export class WaitQueues {
  /** lock id → its local waiters by queue id (the database's queue order) */
  private readonly locks = new Map<number, Map<number, WaitTicket>>();
  private readonly history: Change[] = [];
  private seq = 0;
  private unsubscribe: (() => void) | undefined;
  private fallback: NodeJS.Timeout | undefined;
  /** how many times a waiting request was sent to try again because of a change */
  wakeups = 0;

  constructor(
    private readonly store: Store,
    private readonly fallbackMs = FALLBACK_MS,
  ) {}

  /** A blocked request's ticket; taken before its first attempt so no change slips past. */
  enter(signal?: AbortSignal): WaitTicket {
    this.unsubscribe ??= this.store.onLockChanged((lockId, wake) => this.changed(lockId, wake));
    return new WaitTicket(this, signal);
  }

  /** the position in the change history a new attempt starts from */
  get position(): number {
    return this.seq;
  }

  /** Whether a change after `since` may let this waiter in. */
  missedSince(since: number, lockId: number | undefined, waiterId: number | undefined): boolean {
    if (since === this.seq) return false;
    const oldest = this.history[0]?.seq ?? this.seq + 1;
    if (since + 1 < oldest) return true;
    for (let i = this.history.length - 1; i >= 0 && this.history[i]!.seq > since; i--) {
      if (concerns(this.history[i]!, lockId, waiterId)) return true;
    }
    return false;
  }

  register(ticket: WaitTicket, lockId: number, waiterId: number): void {
    let queue = this.locks.get(lockId);
    if (!queue) {
      queue = new Map();
      this.locks.set(lockId, queue);
    }
    queue.set(waiterId, ticket);
    if (!this.fallback) {
      this.fallback = setInterval(() => this.recheckHeads(), this.fallbackMs);
      this.fallback.unref();
    }
  }

  unregister(lockId: number, waiterId: number): void {
    const queue = this.locks.get(lockId);
    if (!queue) return;
    queue.delete(waiterId);
    if (queue.size === 0) this.locks.delete(lockId);
    if (this.locks.size === 0 && this.fallback) {
      clearInterval(this.fallback);
      this.fallback = undefined;
    }
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.fallback) clearInterval(this.fallback);
    this.fallback = undefined;
  }

  private changed(lockId: number | null, wake: readonly number[] | undefined): void {
    this.history.push({ seq: ++this.seq, lockId, wake });
    if (this.history.length > HISTORY) this.history.shift();
    if (lockId === null) {
      for (const queue of this.locks.values()) for (const t of queue.values()) t.wake();
      return;
    }
    const queue = this.locks.get(lockId);
    if (!queue) return;
    if (wake === undefined) {
      for (const t of queue.values()) t.wake();
    } else {
      for (const id of wake) queue.get(id)?.wake();
    }
  }

  /** The fallback: the first local waiter of each lock looks again, woken or not. */
  private recheckHeads(): void {
    for (const queue of this.locks.values()) {
      let first: number | undefined;
      for (const id of queue.keys()) if (first === undefined || id < first) first = id;
      if (first !== undefined) queue.get(first)?.wake();
    }
  }
}

/** One blocked request: armed before each attempt, then waits to be woken, timed out or aborted. */
export class WaitTicket {
  private since = 0;
  private dirty = false;
  private lockId: number | undefined;
  private waiterId: number | undefined;
  private notify: (() => void) | undefined;

  constructor(
    private readonly queues: WaitQueues,
    private readonly signal?: AbortSignal,
  ) {}

  /** Called before each attempt: changes from now on count for the next wait. */
  arm(): void {
    this.since = this.queues.position;
    this.dirty = false;
  }

  /** After an attempt that left the request queued: its lock and its place in the queue. */
  place(lockId: number, waiterId: number | undefined): void {
    if (this.lockId === lockId && this.waiterId === waiterId) return;
    this.leave();
    this.lockId = lockId;
    this.waiterId = waiterId;
    if (waiterId !== undefined) this.queues.register(this, lockId, waiterId);
  }

  /** from the registry: a change may let this request in */
  wake(): void {
    if (this.notify) this.notify();
    else this.dirty = true;
  }

  wait(ms: number): Promise<WakeReason> {
    if (this.signal?.aborted) return Promise.resolve('aborted');
    if (this.dirty || this.queues.missedSince(this.since, this.lockId, this.waiterId)) {
      this.queues.wakeups++;
      return Promise.resolve('changed');
    }
    return new Promise((resolve) => {
      const done = (reason: WakeReason) => {
        clearTimeout(timer);
        this.signal?.removeEventListener('abort', onAbort);
        this.notify = undefined;
        if (reason === 'changed') this.queues.wakeups++;
        resolve(reason);
      };
      const onAbort = () => done('aborted');
      const timer = setTimeout(() => done('timeout'), Math.max(0, ms));
      this.signal?.addEventListener('abort', onAbort, { once: true });
      this.notify = () => done('changed');
    });
  }

  private leave(): void {
    if (this.lockId !== undefined && this.waiterId !== undefined) {
      this.queues.unregister(this.lockId, this.waiterId);
    }
  }

  close(): void {
    this.leave();
    this.notify = undefined;
  }
}
