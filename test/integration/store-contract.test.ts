// The store contract, called directly (no HTTP) over both stores: every write a store offers —
// the operators' changes, the jobs', another instance's — is seen by the very next lock
// operation. Two store objects share one database (one SQLite file; one PostgreSQL database)
// and take turns, so a store that answered from what it remembers instead of what is committed
// would fail here, whichever of them wrote last.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideUpdate, type LockChanges } from '../../src/lock/update.js';
import { decideExpiry, decideForceRelease } from '../../src/lock/rules.js';
import type { HostRule } from '../../src/lock/host-rules.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase, STORES, type TestDatabase } from '../support/stores.js';

const operator = { userId: null, login: '(contract)', address: null };

describe.each(STORES)('store contract (%s)', (kind) => {
  let db: TestDatabase;
  let one: Store;
  let two: Store;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    one = db.open();
    await one.migrate();
    two = db.open();
    await two.migrate();
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await db?.dispose();
  });

  let n = 0;
  /** a fresh lock per test, so the tests do not depend on each other */
  async function newLock(via: Store, settings: Partial<{ maxHolders: number; leaseSeconds: number }> = {}) {
    return via.createLock(
      {
        name: `contract-${n++}`,
        type: 'ForemanDlm::Dlmlock::Update',
        enabled: true,
        maxHolders: settings.maxHolders ?? 1,
        maxHoldersPercent: null,
        leaseSeconds: settings.leaseSeconds ?? null,
        windows: [],
      },
      {},
    );
  }
  const rule = (via: Store, r: HostRule, ref: string, host: string) =>
    via.hostRule({ rule: r, ref, host: { name: host, autoRegister: true } });
  const update = (via: Store, ref: string, changes: LockChanges) =>
    via.lockOp({
      ref,
      actor: {},
      decide: (lock, ctx) => {
        const { next, events } = decideUpdate(lock, changes, ctx.now, {});
        return { next, events, result: next };
      },
    });
  const holders = async (via: Store, ref: string) =>
    ((await via.getLock(ref))?.holders ?? []).map((h) => h.hostName);

  it('the two store objects alternate on one lock and always see the other one’s commit', async () => {
    const lock = await newLock(one, { maxHolders: 2 });
    const stores = [one, two];
    for (let round = 0; round < 6; round++) {
      const [a, b] = [stores[round % 2]!, stores[(round + 1) % 2]!];
      expect((await rule(a, 'acquire', lock.name, `alt-${round}`)).ok).toBe(true);
      expect(await holders(b, lock.name)).toContain(`alt-${round}`);
      // the semaphore of 2 is full after the first acquire of the next round's host
      if (round > 0) expect((await rule(b, 'release', lock.name, `alt-${round - 1}`)).ok).toBe(true);
    }
    const last = await one.getLock(lock.name);
    expect(last?.holders.map((h) => h.hostName)).toEqual(['alt-5']);
    // every grant had its own, growing fencing token, whichever store object handed it out
    expect(last?.fencingCounter).toBe(6);
  });

  it('an operator barring a host is seen by its next acquire, and so is lifting it', async () => {
    const lock = await newLock(one);
    // both store objects have just seen the host allowed to acquire
    for (const via of [one, two]) {
      expect(await rule(via, 'acquire', lock.name, 'barred-1')).toMatchObject({ ok: true });
      expect(await rule(via, 'release', lock.name, 'barred-1')).toMatchObject({ ok: true });
    }
    await two.hostDirectory.setCanAcquire('barred-1', false, operator);
    for (const via of [one, two]) {
      expect(await rule(via, 'acquire', lock.name, 'barred-1')).toMatchObject({
        ok: false,
        reason: 'host_barred',
      });
    }
    await one.hostDirectory.setCanAcquire('barred-1', true, operator);
    expect(await rule(two, 'acquire', lock.name, 'barred-1')).toMatchObject({ ok: true });
  });

  it('a deleted host is gone for the next request: registered anew, holding nothing', async () => {
    const lock = await newLock(one);
    await rule(one, 'acquire', lock.name, 'deleted-1');
    const before = (await one.hostDirectory.get('deleted-1'))?.host;
    // what the service does (src/service): free the host's locks, then delete the row
    await two.lockOp({
      ref: lock.name,
      actor: {},
      decide: (l, ctx) => {
        const freed = decideForceRelease(l, ctx.now, {}, { hostName: 'deleted-1' });
        return { next: freed.next, events: freed.events, result: null };
      },
    });
    expect(await two.hostDirectory.delete(before!.id, operator, null)).toBe(true);
    const again = await rule(one, 'acquire', lock.name, 'deleted-1');
    expect(again).toMatchObject({ ok: true, outcome: 'acquired' });
    const after = (await one.hostDirectory.get('deleted-1'))?.host;
    expect(after!.id).not.toBe(before!.id);
    expect(again.lock.holders.map((h) => h.hostId)).toEqual([after!.id]);
  });

  it('the global pause set by one store object holds the other one’s acquires, until lifted', async () => {
    const lock = await newLock(one);
    for (const via of [one, two]) {
      expect(await rule(via, 'acquire', lock.name, 'paused-1')).toMatchObject({ ok: true });
      expect(await rule(via, 'release', lock.name, 'paused-1')).toMatchObject({ ok: true });
    }
    const { now } = await two.getGlobalPause();
    await two.setGlobalPause({ until: now + 60_000, reason: 'contract' }, operator);
    try {
      for (const via of [one, two]) {
        expect(await rule(via, 'acquire', lock.name, 'paused-1')).toMatchObject({
          ok: false,
          reason: 'paused',
        });
      }
    } finally {
      await one.setGlobalPause(null, operator);
    }
    expect(await rule(two, 'acquire', lock.name, 'paused-1')).toMatchObject({ ok: true });
    // a release is never held up by a pause
    await one.setGlobalPause({ until: now + 60_000, reason: 'contract' }, operator);
    try {
      expect(await rule(two, 'release', lock.name, 'paused-1')).toMatchObject({ ok: true });
    } finally {
      await two.setGlobalPause(null, operator);
    }
  });

  it('settings changed by an operator apply to the next acquire', async () => {
    const lock = await newLock(one);
    expect((await rule(one, 'acquire', lock.name, 'set-1')).ok).toBe(true);
    expect(await rule(one, 'acquire', lock.name, 'set-2')).toMatchObject({ ok: false, reason: 'held' });
    await update(two, lock.name, { maxHolders: 2 });
    expect(await rule(one, 'acquire', lock.name, 'set-2')).toMatchObject({ ok: true });
    await update(two, lock.name, { enabled: false });
    expect(await rule(one, 'release', lock.name, 'set-1')).toMatchObject({ ok: false, reason: 'disabled' });
    await update(one, lock.name, { enabled: true, name: `${lock.name}-renamed` });
    expect(await rule(two, 'release', `${lock.name}-renamed`, 'set-1')).toMatchObject({ ok: true });
    // the old name is free again: an acquire there creates a new lock (foreman_dlm)
    const created = await rule(one, 'acquire', lock.name, 'set-3');
    expect(created).toMatchObject({ ok: true });
    expect(created.lock.id).not.toBe(lock.id);
    // and continues the fencing counter the name had (SPEC section 8)
    expect(created.lock.holders[0]!.fencingToken).toBeGreaterThan(2);
  });

  it('a lock deleted by an operator is gone for the other store object', async () => {
    const lock = await newLock(one);
    await rule(one, 'acquire', lock.name, 'gone-1');
    await two.lockOp({
      ref: lock.name,
      actor: {},
      decide: () => ({ delete: true, events: [], result: null }),
    });
    expect(await one.getLock(lock.name)).toBeUndefined();
    const again = await rule(one, 'acquire', lock.name, 'gone-2');
    expect(again.lock.id).not.toBe(lock.id);
    expect(again.lock.holders.map((h) => h.hostName)).toEqual(['gone-2']);
  });

  it('an expired lease freed by the expiry job lets the next host in', async () => {
    const lock = await newLock(one, { leaseSeconds: 1 });
    await rule(one, 'acquire', lock.name, 'lease-1');
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await two.findExpiredLocks(100)).toContain(lock.id);
    await two.lockOp({
      ref: String(lock.id),
      actor: {},
      decide: (l, ctx) => {
        const { next, events } = decideExpiry(l, ctx.now);
        return { next, events, result: null };
      },
    });
    expect(await holders(one, lock.name)).toEqual([]);
    expect(await rule(one, 'acquire', lock.name, 'lease-2')).toMatchObject({ ok: true, outcome: 'acquired' });
  });

  it('members an operator adds count for a percentage max_holders at the next acquire', async () => {
    const lock = await newLock(one);
    await update(one, lock.name, { maxHoldersPercent: 50 });
    for (const h of ['m-1', 'm-2', 'm-3', 'm-4']) {
      await one.touchHost({ name: h, autoRegister: true });
      await two.lockMembers.add(lock.name, h, operator);
    }
    // 50 % of 4 members: two holders
    expect((await rule(one, 'acquire', lock.name, 'm-1')).ok).toBe(true);
    expect((await rule(one, 'acquire', lock.name, 'm-2')).ok).toBe(true);
    expect(await rule(one, 'acquire', lock.name, 'm-3')).toMatchObject({ ok: false, reason: 'full' });
    await two.lockMembers.remove(lock.name, 'm-4', operator);
    await two.lockMembers.remove(lock.name, 'm-3', operator);
    await one.touchHost({ name: 'm-5', autoRegister: true });
    for (const h of ['m-3', 'm-4', 'm-5', 'm-6']) {
      await one.touchHost({ name: h, autoRegister: true });
      await two.lockMembers.add(lock.name, h, operator);
    }
    // six members now: three may hold it
    expect(await rule(one, 'acquire', lock.name, 'm-3')).toMatchObject({ ok: true });
  });
});
