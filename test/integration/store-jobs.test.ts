// Store services behind the periodic jobs and blocking acquire: one instance at a time per
// job, and change notifications that reach other instances.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';

describe('PostgreSQL: jobs and notifications across two store instances', () => {
  let db: TestDatabase;
  let one: Store;
  let two: Store;
  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    one = db.open();
    two = db.open();
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await db?.dispose();
  });

  it('runs a job on one instance at a time', async () => {
    let release!: () => void;
    const blocker = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const first = one.runExclusive('test-job', async () => {
      entered();
      await blocker;
    });
    await inside;
    expect(await two.runExclusive('test-job', async () => undefined)).toBe(false);
    expect(await two.runExclusive('another-job', async () => undefined)).toBe(true);
    release();
    expect(await first).toBe(true);
    expect(await two.runExclusive('test-job', async () => undefined)).toBe(true);
  });

  it('tells one instance when a queued lock changes in another instance', async () => {
    const seen: (number | null)[] = [];
    const heard = new Promise<void>((resolve) => {
      const stop = two.onLockChanged((id) => {
        seen.push(id);
        stop();
        resolve();
      });
    });
    // A waiter joins the queue of a lock, then leaves it: that change is worth a wake-up.
    // Repeated until the LISTEN connection, set up in the background, hears one.
    for (let i = 0; i < 50 && seen.length === 0; i++) {
      const queued = await one.hostLockOp({
        ref: `notified-${i}`,
        createIfMissing: true,
        host: { name: 'n1', autoRegister: true },
        actor: {},
        decide: (lock, _host, ctx) => ({
          events: [],
          result: lock.id,
          enqueue: { deadline: ctx.now + 60_000 },
        }),
      });
      await one.lockOp({
        ref: `notified-${i}`,
        actor: {},
        decide: () => ({ events: [], result: undefined, dequeue: queued.waiterId }),
      });
      await Promise.race([heard, new Promise((r) => setTimeout(r, 100))]);
      if (seen.length) expect(seen[0]).toBe(queued.result);
    }
    await heard;
  });

  it('does not signal changes of locks nobody waits for', async () => {
    const seen: (number | null)[] = [];
    const stop = one.onLockChanged((id) => seen.push(id));
    await one.hostLockOp({
      ref: 'unwatched',
      createIfMissing: true,
      host: { name: 'n2', autoRegister: true },
      actor: {},
      decide: (lock, _host, ctx) => ({
        next: { ...lock, enabled: false, updatedAt: ctx.now },
        events: [],
        result: undefined,
      }),
    });
    await one.lockOp({
      ref: 'unwatched',
      actor: {},
      decide: (lock, ctx) => ({
        next: { ...lock, enabled: true, updatedAt: ctx.now },
        events: [],
        result: undefined,
      }),
    });
    stop();
    expect(seen).toEqual([]);
  });
});
