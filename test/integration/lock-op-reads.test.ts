// What a lock operation reads of its queue (runLockOp, src/store/lock-op/): the head is read
// once, with the size the lock's limit in force needs — for a percentage limit after its members
// are counted — and a second time only when the change itself raised the limit beyond the head
// that was read (src/store/lock-op/wake.ts says why). Counted statement by statement on the
// database reads: PostgreSQL's, and SQLite's with its writer cache set aside (the cache reads no
// queue at all).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_READS } from '../../src/store/lock-reads.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import type { Tx } from '../../src/store/sql.js';
import type { Store } from '../../src/store/store.js';
import { STORES, createTestDatabase, type StoreKind, type TestDatabase } from '../support/stores.js';
import { join } from 'node:path';

const OPERATOR = { userId: null, login: 'reads-test', address: null };
const host = (name: string) => ({ name, autoRegister: true });

/** Statements of the write transactions, by whether they read a lock's queue. */
interface Counts {
  statements: number;
  queueReads: number;
}

function counted(tx: Tx, counts: Counts): Tx {
  const count = (sql: string) => {
    counts.statements++;
    // the holders-and-queue statements (src/store/lock-sql.ts), start or whole
    if (/FROM lock_waiters w LEFT JOIN instances i/.test(sql)) counts.queueReads++;
  };
  return new Proxy(tx, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      if (name === 'all' || name === 'get' || name === 'run' || name === 'defer') {
        return (sql: string, params?: unknown[]) => {
          count(sql);
          return (value as (s: string, p?: unknown[]) => unknown).call(target, sql, params);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

function countingStore(kind: StoreKind, db: TestDatabase, counts: Counts): Store {
  if (kind === 'sqlite') {
    return new (class extends SqliteStore {
      constructor() {
        super(join(db.dataDir, 'counted.sqlite'));
        // the database reads, as PostgreSQL's: what the writer cache stands in for
        Object.defineProperty(this, 'lockReads', { value: { ...DATABASE_READS, clear: () => undefined } });
      }
      protected override runWrite<T>(fn: (tx: Tx) => Promise<T>, lockOp?: boolean): Promise<T> {
        return super.runWrite((tx) => fn(counted(tx, counts)), lockOp);
      }
    })();
  }
  return new (class extends PostgresStore {
    protected override runWrite<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      return super.runWrite((tx) => fn(counted(tx, counts)));
    }
  })({ url: db.url! });
}

describe.each(STORES)('a lock operation reads the head of its queue once on %s', (kind) => {
  let db: TestDatabase;
  let store: Store;
  const counts: Counts = { statements: 0, queueReads: 0 };
  async function measure<T>(fn: () => Promise<T>): Promise<{ out: T } & Counts> {
    counts.statements = 0;
    counts.queueReads = 0;
    const out = await fn();
    return { out, ...counts };
  }
  const enqueue = (ref: string, name: string) =>
    store.hostLockOp({
      ref,
      createIfMissing: true,
      host: host(name),
      actor: {},
      decide: (_lock, _host, ctx) => ({
        events: [],
        result: undefined,
        enqueue: { deadline: ctx.now + 600_000 },
      }),
    });
  /** A host's look at the lock: what the rule is told of the queue. */
  const look = (ref: string, name: string) =>
    store.hostLockOp({
      ref,
      createIfMissing: false,
      host: host(name),
      actor: {},
      decide: (lock, _host, ctx) => ({
        events: [],
        result: { places: lock.maxHolders, head: ctx.queue.head.length, complete: ctx.queue.complete },
      }),
    });

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    store = countingStore(kind, db, counts);
    await store.migrate();
    await store.heartbeat(600_000, true);
  });
  afterAll(async () => {
    await store?.close();
    await db?.dispose();
  });

  it('a percentage limit: the members are counted first, and the head read is as long as their places', async () => {
    await store.createLock(
      {
        name: 'pct-reads',
        type: 'ForemanDlm::Dlmlock::Update',
        enabled: true,
        maxHolders: 1,
        leaseSeconds: null,
        windows: [],
        maxHoldersPercent: 50,
      },
      {},
    );
    for (let i = 0; i < 12; i++) {
      await store.touchHost(host(`pr-${i}`));
      await store.lockMembers.add('pct-reads', `pr-${i}`, OPERATOR);
    }
    // 50 % of 12 members: 6 places, all taken; 5 waiters behind them (more than max_holders 1 + 2)
    for (let i = 0; i < 6; i++) {
      expect(
        await store.hostRule({ rule: 'acquire', ref: 'pct-reads', host: host(`pr-${i}`) }),
      ).toMatchObject({
        ok: true,
      });
    }
    for (let i = 0; i < 5; i++) await enqueue('pct-reads', `pr-w${i}`);
    const seen = await measure(() => look('pct-reads', 'pr-11'));
    expect(seen.out?.result).toEqual({ places: 6, head: 5, complete: true });
    expect(seen.queueReads).toBe(1);
  });

  it('a fixed limit: one read of the head, the rule told it is partial', async () => {
    expect(
      await store.hostRule({ rule: 'acquire', ref: 'fixed-reads', host: host('fr-holder') }),
    ).toMatchObject({
      ok: true,
    });
    for (let i = 0; i < 6; i++) await enqueue('fixed-reads', `fr-w${i}`);
    const seen = await measure(() => look('fixed-reads', 'fr-other'));
    expect(seen.out?.result).toEqual({ places: 1, head: 3, complete: false });
    expect(seen.queueReads).toBe(1);
  });

  it('an operator raising the limit beyond the head read reads a longer head for the wake-up, once more', async () => {
    const wakes: (readonly number[] | undefined)[] = [];
    const off = store.onLockChanged((_lockId, wake) => wakes.push(wake));
    try {
      const raised = await measure(() =>
        store.lockOp({
          ref: 'fixed-reads',
          actor: {},
          decide: (lock) => ({ next: { ...lock, maxHolders: 5 }, events: [], result: undefined }),
        }),
      );
      expect(raised.queueReads).toBe(2);
      // one holder, five places: the first four waiters are woken
      expect(wakes[0]).toHaveLength(4);
      // a change that raises nothing reads it once
      const same = await measure(() =>
        store.lockOp({ ref: 'fixed-reads', actor: {}, decide: () => ({ events: [], result: undefined }) }),
      );
      expect(same.queueReads).toBe(1);
    } finally {
      off();
    }
  });
});
