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

  it("tells one instance about another instance's release", async () => {
    const seen: (number | null)[] = [];
    const heard = new Promise<void>((resolve) => {
      const stop = two.onLockChanged((id) => {
        seen.push(id);
        stop();
        resolve();
      });
    });
    // give the LISTEN connection a moment to be established before the change is made
    for (let i = 0; i < 50 && seen.length === 0; i++) {
      const acquired = await one.lockOp({
        ref: `notified-${i}`,
        createIfMissing: true,
        host: { name: 'n1', autoRegister: true },
        actor: {},
        decide: (lock, ctx) => ({
          next: { ...lock!, holders: [], maxHolders: lock!.maxHolders + 1, updatedAt: ctx.now },
          events: [],
          result: lock!.id,
        }),
      });
      await Promise.race([heard, new Promise((r) => setTimeout(r, 100))]);
      if (seen.length) expect(seen[0]).toBe(acquired.result);
    }
    await heard;
  });
});
