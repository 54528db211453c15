// Draining a blocking-acquire queue: each hand-off wakes only the head of the queue, so the
// work per grant does not grow with the queue. Counted, not timed: the store transactions the
// lock operations ran and the wake-ups the waiters got, per grant, for queues of 50 and 200
// (waking every waiter on each change cost about n/2 attempts per grant: 25 and 100).
// On PostgreSQL the waiters are spread over two instances, so every other hand-off crosses
// instances through NOTIFY (a head waiter of the other instance must be served too).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockService } from '../../src/service/locks.js';
import type { Store } from '../../src/store/store.js';
import { STORES, createTestDatabase, type TestDatabase } from '../support/stores.js';

interface Tally {
  ops: number;
  queued: number;
  onQueued?: () => void;
}

/** A store whose lock operations are counted, and that reports each waiter it queues. */
function counted(store: Store, tally: Tally): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'lockOp' && prop !== 'hostLockOp') return Reflect.get(target, prop, receiver) as unknown;
      return async (...args: Parameters<Store['hostLockOp']>) => {
        tally.ops++;
        const out = await (target[prop] as Store['hostLockOp'])(...args);
        if (out?.waiterId !== undefined) {
          tally.queued++;
          tally.onQueued?.();
        }
        return out;
      };
    },
  });
}

describe.each(STORES)('draining a queue on %s', (kind) => {
  let db: TestDatabase;
  const stores: Store[] = [];
  const tally: Tally = { ops: 0, queued: 0 };
  let services: LockService[];

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    // PostgreSQL: two instances on one database; SQLite: one server per file.
    for (let i = 0; i < (kind === 'postgres' ? 2 : 1); i++) {
      const store = db.open();
      await store.migrate();
      await store.heartbeat(600_000, i === 0);
      stores.push(store);
    }
    services = stores.map((s) => new LockService(counted(s, tally), true));
  });
  afterAll(async () => {
    for (const s of services ?? []) s.stop();
    for (const s of stores) await s.close();
    await db?.dispose();
  });

  it.each([50, 200])('%i waiters: first come first served, O(1) transactions per grant', async (n) => {
    const lock = `drain-${n}`;
    const service = (i: number) => services[i % services.length]!;
    expect((await service(0).acquire(lock, 'holder')).ok).toBe(true);

    const granted: number[] = [];
    const tokens: number[] = [];
    let mostHolding = 0;
    const waiters: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      // In the queue before the next one comes, so the arrival order is known.
      const queued = new Promise<void>((resolve) => (tally.onQueued = resolve));
      waiters.push(
        service(i)
          .acquire(lock, `waiter-${i}`, { waitSeconds: 300 })
          .then(async (answer) => {
            expect(answer.ok).toBe(true);
            mostHolding = Math.max(mostHolding, answer.lock.holders.length);
            tokens.push(answer.lock.fencingCounter);
            granted.push(i);
            expect((await service(i).release(lock, `waiter-${i}`)).ok).toBe(true);
          }),
      );
      await queued;
    }
    tally.onQueued = undefined;

    const opsBefore = tally.ops;
    const wakeupsBefore = services.reduce((sum, s) => sum + s.waits.wakeups, 0);
    await service(0).release(lock, 'holder');
    await Promise.all(waiters);
    const ops = tally.ops - opsBefore;
    const wakeups = services.reduce((sum, s) => sum + s.waits.wakeups, 0) - wakeupsBefore;

    expect(granted).toEqual([...Array(n).keys()]);
    expect(mostHolding).toBe(1);
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
    // Per grant: the waiter's winning attempt and its release (the holder's release once).
    // Waking every waiter on each change would cost about n/2 attempts per grant.
    expect(ops).toBeLessThanOrEqual(2 * n + 1 + Math.ceil(n / 20));
    expect(wakeups).toBeLessThanOrEqual(n + Math.ceil(n / 20));
  });
});
