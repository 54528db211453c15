// A host's release of a lock with a queue wakes the head waiter, wherever it waits. On
// PostgreSQL the release is one call of the server-side host rule (migration 15), on another
// instance than the waiter's: the function's NOTIFY must reach the waiter's instance, and
// the releasing instance must not fall back to the TypeScript path. On SQLite (one server per
// file) the same through its one store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockService } from '../../src/service/locks.js';
import type { Store } from '../../src/store/store.js';
import { countWaiters } from '../support/db-sql.js';
import { STORES, createTestDatabase, type TestDatabase } from '../support/stores.js';
import { resolvesWithin } from '../support/within.js';

/** A store whose general lock path is counted: on PostgreSQL a hostRule answered by the function never takes it. */
function counted(store: Store, tally: { general: number }): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'hostLockOp') return Reflect.get(target, prop, receiver) as unknown;
      return (...args: Parameters<Store['hostLockOp']>) => {
        tally.general++;
        return target.hostLockOp(...args);
      };
    },
  });
}

/**
 * A generous bound for a grant that a notification brings (milliseconds, normally), and below
 * the waiters' own fallback re-check (FALLBACK_MS, 10 s, src/service/wait-queue.ts), so a grant
 * within it is the change note's doing.
 */
const GRANT_BOUND_MS = 5_000;

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const poll = async () => {
    while (!(await check())) await new Promise((r) => setTimeout(r, 20));
  };
  await resolvesWithin(poll(), 10_000, what);
}

describe.each(STORES)('a host rule on a lock with a queue on %s', (kind) => {
  let db: TestDatabase;
  const stores: Store[] = [];
  const tally = { general: 0 };
  let waiting: LockService;
  let releasing: LockService;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    // PostgreSQL: two instances on one database; SQLite: one server per file.
    for (let i = 0; i < (kind === 'postgres' ? 2 : 1); i++) {
      const store = db.open();
      await store.migrate();
      await store.heartbeat(600_000, i === 0);
      stores.push(store);
    }
    waiting = new LockService(stores[0]!, true);
    releasing = new LockService(counted(stores[stores.length - 1]!, tally), true);
  });
  afterAll(async () => {
    waiting?.stop();
    releasing?.stop();
    for (const s of stores) await s.close();
    await db?.dispose();
  });

  it('a release on the other instance grants the head waiter', async () => {
    const lock = `queued-release-${kind}`;
    expect((await releasing.acquire(lock, 'holder')).ok).toBe(true);
    const granted = waiting.acquire(lock, 'waiter', { waitSeconds: 60 });
    await until('the waiter queued', async () => (await countWaiters(db)) === 1);

    // (a host seen for the first time is registered by the TypeScript path)
    expect(await releasing.acquire(lock, 'latecomer')).toMatchObject({ ok: false, reason: 'held' });
    tally.general = 0;
    expect(await releasing.acquire(lock, 'latecomer')).toMatchObject({ ok: false, reason: 'held' });
    expect((await releasing.release(lock, 'holder')).ok).toBe(true);
    // the waiter's instance heard the release and took the place (bounded, not a timing test)
    const answer = await resolvesWithin(granted, GRANT_BOUND_MS, "the waiter's grant");
    expect(answer.ok).toBe(true);
    expect(answer.lock.holders.map((h) => h.hostName)).toEqual(['waiter']);
    if (kind === 'postgres') expect(tally.general, 'the TypeScript path on the releasing side').toBe(0);

    // the place is taken
    expect(await releasing.acquire(lock, 'latecomer')).toMatchObject({ ok: false, reason: 'held' });
    expect((await waiting.release(lock, 'waiter')).ok).toBe(true);
  });

  it('a release of a semaphore with a queue grants its freed place to the head waiter', async () => {
    const lock = `queued-behind-${kind}`;
    expect((await releasing.acquire(lock, 'holder-2', { createMaxHolders: 2 })).ok).toBe(true);
    expect((await releasing.acquire(lock, 'holder-3')).ok).toBe(true);
    expect(await releasing.acquire(lock, 'latecomer-2')).toMatchObject({ ok: false, reason: 'full' });
    const granted = waiting.acquire(lock, 'waiter-2', { waitSeconds: 60 });
    await until('the waiter queued', async () => (await countWaiters(db)) === 1);
    tally.general = 0;
    // the release frees a place for the head only; the waiter takes it when it hears of it
    expect((await releasing.release(lock, 'holder-2')).ok).toBe(true);
    const answer = await resolvesWithin(granted, GRANT_BOUND_MS, "the waiter's grant");
    expect(answer.lock.holders.map((h) => h.hostName).sort()).toEqual(['holder-3', 'waiter-2']);
    // full again
    expect(await releasing.acquire(lock, 'latecomer-2')).toMatchObject({ ok: false, reason: 'full' });
    if (kind === 'postgres') expect(tally.general).toBe(0);
  });
});
