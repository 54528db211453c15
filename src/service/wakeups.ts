// Wake-ups for blocking acquires: a waiter sleeps until its lock changes (a release, an
// expiry, an operator action — here or, through the store's notifications, in another
// instance), its time is up, or its client goes away. No polling of the database.
import type { Store } from '../store/store.js';

export type WakeReason = 'changed' | 'timeout' | 'aborted';

export class Wakeup {
  private dirty = false;
  private lockId: number | undefined;
  private notify: (() => void) | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    store: Store,
    private readonly signal?: AbortSignal,
  ) {
    // Subscribed before the first attempt, so a change between an attempt and the wait is kept.
    this.unsubscribe = store.onLockChanged((id) => {
      if (id === null || this.lockId === undefined || id === this.lockId) {
        this.dirty = true;
        this.notify?.();
      }
    });
  }

  /** Called before each attempt: changes seen from now on count for the next wait. */
  arm(lockId: number | undefined): void {
    if (lockId !== undefined) this.lockId = lockId;
    this.dirty = false;
  }

  wait(ms: number): Promise<WakeReason> {
    if (this.signal?.aborted) return Promise.resolve('aborted');
    if (this.dirty) return Promise.resolve('changed');
    return new Promise((resolve) => {
      const done = (reason: WakeReason) => {
        clearTimeout(timer);
        this.signal?.removeEventListener('abort', onAbort);
        this.notify = undefined;
        resolve(reason);
      };
      const onAbort = () => done('aborted');
      const timer = setTimeout(() => done('timeout'), Math.max(0, ms));
      this.signal?.addEventListener('abort', onAbort, { once: true });
      this.notify = () => done('changed');
    });
  }

  close(): void {
    this.unsubscribe();
  }
}
