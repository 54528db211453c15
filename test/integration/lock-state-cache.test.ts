// SQLite's writer keeps the lock state in memory (src/store/sqlite/lock-cache.ts): it must
// never answer from what the database no longer says. Every kind of write that is not a lock
// operation (operators, heartbeats, members, new child locks), another store on the same file
// and a batch whose COMMIT fails must be seen by the very next host acquire. The same checks
// run on PostgreSQL, which reads the database on every operation.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import type { Tx } from '../../src/store/sql.js';
import type { Store } from '../../src/store/store.js';
import { STORES, createTestDatabase, type TestDatabase } from '../support/stores.js';

const OPERATOR = { userId: null, login: 'operator', address: '127.0.0.1' };
const host = (name: string, autoRegister = true) => ({ name, autoRegister });

function acquire(store: Store, ref: string, name: string) {
  return store.hostRule({ rule: 'acquire', ref, host: host(name) });
}

function release(store: Store, ref: string, name: string) {
  return store.hostRule({ rule: 'release', ref, host: host(name) });
}

/** A queue entry of this instance for `name` on `ref` (created if missing), ten minutes long. */
function enqueue(store: Store, ref: string, name: string) {
  return store.hostLockOp({
    ref,
    createIfMissing: true,
    host: host(name),
    actor: {},
    decide: (lock, _host, ctx) => ({
      events: [],
      result: lock.id,
      enqueue: { deadline: ctx.now + 600_000 },
    }),
  });
}

describe.each(STORES)('%s: the next acquire sees every operator change', (kind) => {
  let db: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    store = db.open();
    await store.migrate();
    await store.heartbeat(600_000, true);
  });
  afterAll(async () => {
    await store?.close();
    await db?.dispose();
  });

  it('a host no longer allowed to acquire is refused, and allowed again is let in', async () => {
    expect(await acquire(store, 'can-acquire', 'ca-1')).toMatchObject({ ok: true });
    expect(await release(store, 'can-acquire', 'ca-1')).toMatchObject({ ok: true });
    await store.hostDirectory.setCanAcquire('ca-1', false, OPERATOR);
    expect(await acquire(store, 'can-acquire', 'ca-1')).toMatchObject({ ok: false });
    await store.hostDirectory.setCanAcquire('ca-1', true, OPERATOR);
    expect(await acquire(store, 'can-acquire', 'ca-1')).toMatchObject({ ok: true });
  });

  it('a deleted holder is gone, and its name comes back as a new host', async () => {
    const held = await acquire(store, 'deleted-holder', 'dh-1');
    expect(held).toMatchObject({ ok: true });
    expect(await acquire(store, 'deleted-holder', 'dh-2')).toMatchObject({ ok: false });
    const id = held.lock.holders[0]!.hostId;
    expect(await store.hostDirectory.delete(id, OPERATOR, null)).toBe(true);
    const next = await acquire(store, 'deleted-holder', 'dh-2');
    expect(next).toMatchObject({ ok: true });
    expect(next.lock.holders.map((h) => h.hostName)).toEqual(['dh-2']);
    // registered again under its old name: a new id, which the holder row must carry
    expect(await release(store, 'deleted-holder', 'dh-2')).toMatchObject({ ok: true });
    const back = await acquire(store, 'deleted-holder', 'dh-1');
    expect(back).toMatchObject({ ok: true });
    expect(back.lock.holders[0]!.hostId).not.toBe(id);
    expect((await store.getLock('deleted-holder'))?.holders.map((h) => h.hostName)).toEqual(['dh-1']);
  });

  it('a global pause set by an operator stops the next acquire, and lifting it lets it in', async () => {
    expect(await acquire(store, 'paused-all', 'pa-1')).toMatchObject({ ok: true });
    expect(await release(store, 'paused-all', 'pa-1')).toMatchObject({ ok: true });
    await store.setGlobalPause({ until: Date.now() + 600_000, reason: 'freeze' }, OPERATOR);
    expect(await acquire(store, 'paused-all', 'pa-1')).toMatchObject({ ok: false });
    await store.setGlobalPause(null, OPERATOR);
    expect(await acquire(store, 'paused-all', 'pa-1')).toMatchObject({ ok: true });
  });

  it("a retired instance's waiters stop blocking the next acquire", async () => {
    const queued = await enqueue(store, 'retired-waiter', 'rw-1');
    expect(queued.waiterId).toBeDefined();
    // behind a live waiter: refused
    expect(await acquire(store, 'retired-waiter', 'rw-2')).toMatchObject({ ok: false });
    await store.retireInstance();
    await store.heartbeat(600_000);
    expect(await acquire(store, 'retired-waiter', 'rw-2')).toMatchObject({ ok: true });
  });

  it("a new child lock shows in its parent's next answer", async () => {
    const first = await acquire(store, 'family-parent', 'fp-1');
    expect(first.lock.children).toBeUndefined();
    await store.createLock(
      {
        name: 'family-child',
        type: 'ForemanDlm::Dlmlock::Update',
        enabled: true,
        maxHolders: 1,
        leaseSeconds: null,
        windows: [],
        parent: 'family-parent',
      },
      {},
    );
    const again = await acquire(store, 'family-parent', 'fp-1');
    expect(again.lock.children).toEqual(['family-child']);
  });

  it("a host's look at a lock registers it once, and a deleted one is registered anew", async () => {
    const seen = await store.touchHost(host('looker'));
    expect((await acquire(store, 'looked-at', 'looker')).lock.holders[0]!.hostId).toBe(seen.id);
    expect(await release(store, 'looked-at', 'looker')).toMatchObject({ ok: true });
    expect(await store.hostDirectory.delete(seen.id, OPERATOR, null)).toBe(true);
    const again = await store.touchHost(host('looker'));
    expect(again.id).not.toBe(seen.id);
    expect((await acquire(store, 'looked-at', 'looker')).lock.holders[0]!.hostId).toBe(again.id);
    await expect(store.touchHost(host('never-seen', false))).rejects.toThrow();
  });

  it("an operator's change through a lock operation is what the next acquire decides on", async () => {
    expect(await acquire(store, 'disabled-later', 'dl-1')).toMatchObject({ ok: true });
    expect(await release(store, 'disabled-later', 'dl-1')).toMatchObject({ ok: true });
    await store.lockOp({
      ref: 'disabled-later',
      actor: {},
      decide: (lock) => ({ next: { ...lock, enabled: false }, events: [], result: undefined }),
    });
    expect(await acquire(store, 'disabled-later', 'dl-1')).toMatchObject({ ok: false, reason: 'disabled' });
  });

  it('a lock renamed by an operator is found under its new name only', async () => {
    expect(await acquire(store, 'old-name', 'rn-1')).toMatchObject({ ok: true });
    await store.lockOp({
      ref: 'old-name',
      actor: {},
      decide: (lock) => ({ next: { ...lock, name: 'new-name' }, events: [], result: undefined }),
    });
    const renamed = await release(store, 'new-name', 'rn-1');
    expect(renamed).toMatchObject({ ok: true, lock: { name: 'new-name', holders: [] } });
    // the old name is free: a new lock, whose fencing counter continues from the name's
    const reborn = await acquire(store, 'old-name', 'rn-1');
    expect(reborn.lock.id).not.toBe(renamed.lock.id);
    expect(reborn.lock.holders[0]!.fencingToken).toBe(2);
  });
});

/** Reaches the store's write transactions: a job that passes for a lock operation. */
class OpenSqliteStore extends SqliteStore {
  lockOpWrite<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.write(fn, true);
  }
  get cachedLocks(): number {
    return this.lockReads.size;
  }
}

describe('SQLite: what the writer remembers goes when the database says otherwise', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterAll(async () => {
    await db?.dispose();
  });

  it('two stores on one file see each other’s commits', async () => {
    const file = join(db.dataDir, 'shared.sqlite');
    const one = new SqliteStore(file);
    const two = new SqliteStore(file);
    try {
      await one.migrate();
      await two.migrate();
      await one.heartbeat(600_000);
      await two.heartbeat(600_000);
      expect(await acquire(one, 'shared', 'sh-1')).toMatchObject({ ok: true });
      // `two` remembers the lock as held by sh-1…
      expect(await acquire(two, 'shared', 'sh-2')).toMatchObject({ ok: false });
      // …until `one` releases it
      expect(await release(one, 'shared', 'sh-1')).toMatchObject({ ok: true });
      const taken = await acquire(two, 'shared', 'sh-2');
      expect(taken).toMatchObject({ ok: true });
      expect(taken.lock.holders[0]!.fencingToken).toBe(2);
      expect(await acquire(one, 'shared', 'sh-1')).toMatchObject({ ok: false });
      expect(await release(two, 'shared', 'sh-2')).toMatchObject({ ok: true });
      expect(await acquire(one, 'shared', 'sh-1')).toMatchObject({ ok: true, lock: { fencingCounter: 3 } });
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('a heartbeat or a webhook cursor keeps the plain locks remembered; a queue sees its renewed lease', async () => {
    const store = new OpenSqliteStore(join(db.dataDir, 'heartbeats.sqlite'));
    try {
      await store.migrate();
      await store.heartbeat(1_500, true);
      expect(await acquire(store, 'plain', 'hb-1')).toMatchObject({ ok: true });
      // a waiter of this instance, whose lease ends in 1.5 s unless renewed
      const queued = await enqueue(store, 'queued', 'hb-waiter');
      expect(queued.waiterId).toBeDefined();
      expect(store.cachedLocks).toBe(2);
      await store.heartbeat(600_000);
      // the plain lock stays remembered (a fleet polls less often than the heartbeat)…
      expect(store.cachedLocks).toBe(1);
      // …and the renewed lease counts: past the old lease's end the waiter still queues first
      await new Promise((r) => setTimeout(r, 1_700));
      expect(await acquire(store, 'queued', 'hb-2')).toMatchObject({ ok: false, reason: 'queued' });
      expect(await release(store, 'plain', 'hb-1')).toMatchObject({ ok: true });
      // a webhook delivery pass moves its cursor: nothing a lock operation reads
      const remembered = store.cachedLocks;
      expect(remembered).toBe(2);
      const cursor = await store.webhookFeed.cursor('https://hooks.example/keyholder');
      await store.webhookFeed.save('https://hooks.example/keyholder', { ...cursor, lastEventId: 2 }, null);
      expect(store.cachedLocks).toBe(remembered);
    } finally {
      await store.close();
    }
  });

  it('a batch whose COMMIT fails leaves nothing remembered of it', async () => {
    const store = new OpenSqliteStore(join(db.dataDir, 'failing-commit.sqlite'));
    try {
      await store.migrate();
      await store.heartbeat(600_000, true);
      expect(await acquire(store, 'failing', 'fc-1')).toMatchObject({ ok: true });
      expect(await release(store, 'failing', 'fc-1')).toMatchObject({ ok: true });
      expect(store.cachedLocks).toBe(1);
      // One batch: an acquire, and a job whose foreign-key violation is only checked at COMMIT.
      const [acquired, poisoned] = await Promise.allSettled([
        acquire(store, 'failing', 'fc-1'),
        store.lockOpWrite(async (tx) => {
          await tx.run('PRAGMA defer_foreign_keys = ON');
          await tx.run('INSERT INTO lock_members (lock_id, host_id) VALUES (?, ?)', [999_999, 999_999]);
        }),
      ]);
      expect(acquired.status).toBe('rejected');
      expect(poisoned.status).toBe('rejected');
      expect(store.cachedLocks).toBe(0);
      // The acquire was never committed: another host gets the lock, with the next token.
      const next = await acquire(store, 'failing', 'fc-2');
      expect(next).toMatchObject({ ok: true });
      expect(next.lock.holders.map((h) => [h.hostName, h.fencingToken])).toEqual([['fc-2', 2]]);
    } finally {
      await store.close();
    }
  });

  it('a lock operation that throws leaves nothing remembered of it', async () => {
    const store = new OpenSqliteStore(join(db.dataDir, 'failing-job.sqlite'));
    try {
      await store.migrate();
      await store.heartbeat(600_000, true);
      expect(await acquire(store, 'thrown', 'th-1')).toMatchObject({ ok: true });
      // A rename onto a taken name is refused (422) after the host checked in and the lock was read.
      await acquire(store, 'taken-name', 'th-1');
      await expect(
        store.lockOp({
          ref: 'thrown',
          actor: {},
          decide: (lock) => ({
            next: { ...lock, name: 'taken-name', holders: [] },
            events: [],
            result: undefined,
          }),
        }),
      ).rejects.toThrow();
      expect(store.cachedLocks).toBe(0);
      expect(await acquire(store, 'thrown', 'th-2')).toMatchObject({ ok: false });
      expect((await store.getLock('thrown'))?.holders.map((h) => h.hostName)).toEqual(['th-1']);
    } finally {
      await store.close();
    }
  });
});
