// The periodic jobs on the lock tables, each on one instance at a time (PostgreSQL advisory
// lock): lease expiry — holders that did not refresh within their lease lose the lock
// (`expire` event) and lapsed waiters leave the queue, even when nobody else asks for the lock
// (acquire checks leases too, so this only makes expiry visible and wakes waiters) — event and
// audit retention, and the stale scan; plus `every`, the timer they run on.
import { decideExpiry } from '../lock/rules.js';
import type { Store } from '../store/store.js';

const BATCH = 200;

export async function expireOnce(store: Store): Promise<number> {
  let expired = 0;
  await store.runExclusive('lease-expiry', async () => {
    for (const lockId of await store.findExpiredLocks(BATCH)) {
      await store.lockOp({
        ref: String(lockId),
        sweepQueue: true,
        actor: {},
        decide: (lock, ctx) => {
          const { changed, next, events } = decideExpiry(lock, ctx.now);
          expired += events.length;
          return changed ? { next, events, result: undefined } : { events: [], result: undefined };
        },
      });
    }
  });
  return expired;
}

/** Retention: old lock events and audit records go, one instance at a time. */
export async function expireEventsOnce(
  store: Store,
  retention: { retentionDays: number; auditRetentionDays: number },
): Promise<number> {
  let deleted = 0;
  await store.runExclusive('event-expiry', async () => {
    deleted = await store.events.expire(retention.retentionDays);
    deleted += await store.audit.expire(retention.auditRetentionDays);
  });
  return deleted;
}

/** Stale scan: a `stale` event (and webhook) once per holder past stale_after, one instance at a time. */
export async function reportStaleOnce(store: Store, staleAfterMs: number): Promise<number> {
  let reported = 0;
  await store.runExclusive('stale-scan', async () => {
    reported = await store.webhookFeed.reportStale(staleAfterMs);
  });
  return reported;
}

export interface Job {
  stop(): Promise<void>;
}

/** Runs `work` every `intervalMs`, skipping a turn while the last run is still busy. */
export function every(
  intervalMs: number,
  work: () => Promise<unknown>,
  onError: (err: unknown) => void,
): Job {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = work()
      .catch(onError)
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
