// A lock operation reads the head of the queue, not all of it (issue 10; src/lock/queue.ts
// QueueView): PostgreSQL reads max_holders + 2 live entries and the entry the operation asks
// about, SQLite's cache hands over its whole queue. Both must tell the rules the same: who is
// queued, who comes first, that a waiter deep in the queue is behind more than the places, and
// whom a change wakes — also with more lapsed entries before the head than one operation steps
// over, and when an operator raises max_holders beyond the head that was read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireOnce } from '../../src/jobs/expiry.js';
import { decideBlockingAcquire, isQueued, queuePosition } from '../../src/lock/queue.js';
import type { Store } from '../../src/store/store.js';
import { STORES, createTestDatabase, type TestDatabase } from '../support/stores.js';

const LOCK = 'queue-head';
const LAPSING = 120;
const LIVE = 150;
const host = (name: string) => ({ name, autoRegister: true });

async function enqueue(store: Store, name: string, deadlineIn: number): Promise<number> {
  const out = await store.hostLockOp({
    ref: LOCK,
    createIfMissing: true,
    host: host(name),
    actor: {},
    decide: (_lock, _host, ctx) => ({
      events: [],
      result: undefined,
      enqueue: { deadline: ctx.now + deadlineIn },
    }),
  });
  return out.waiterId!;
}

describe.each(STORES)('the head of a long queue on %s', (kind) => {
  let db: TestDatabase;
  let store: Store;
  const lapsing: number[] = [];
  const live: number[] = [];
  let lapsedBy = 0;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    store = db.open();
    await store.migrate();
    await store.heartbeat(600_000, true);
    expect(await store.hostRule({ rule: 'acquire', ref: LOCK, host: host('qh-holder') })).toMatchObject({
      ok: true,
    });
    // lapsing entries first (lowest ids), live ones behind them
    for (let i = 0; i < LAPSING; i++) lapsing.push(await enqueue(store, `qh-lapsing-${i}`, 4000));
    lapsedBy = Date.now() + 4200;
    for (let i = 0; i < LIVE; i++) live.push(await enqueue(store, `qh-live-${i}`, 600_000));
  }, 30_000);
  afterAll(async () => {
    await store?.close();
    await db?.dispose();
  });

  it('past more lapsed entries than one operation steps over, the live head and a deep waiter are seen', async () => {
    await new Promise((r) => setTimeout(r, Math.max(0, lapsedBy - Date.now())));
    const deep = live[140]!;
    const seen = await store.hostLockOp({
      ref: LOCK,
      createIfMissing: false,
      host: host('qh-live-140'),
      waiterId: deep,
      actor: {},
      decide: (lock, h, ctx) => {
        const step = decideBlockingAcquire(lock, h, ctx.now, ctx.queue, {
          waiterId: deep,
          deadline: ctx.now + 600_000,
          final: false,
        });
        return {
          events: [],
          result: {
            firstQueued: isQueued(ctx.queue, live[0]),
            first: queuePosition(ctx.queue, live[0]),
            second: queuePosition(ctx.queue, live[1]),
            lapsedQueued: isQueued(ctx.queue, lapsing[0]),
            deepQueued: isQueued(ctx.queue, deep),
            deep: queuePosition(ctx.queue, deep),
            newcomer: queuePosition(ctx.queue, undefined),
            step: { reason: step.decision.ok ? 'ok' : step.decision.reason, ...step, decision: undefined },
          },
        };
      },
    });
    const r = seen!.result;
    expect(r).toMatchObject({
      firstQueued: true,
      first: 0,
      second: 1,
      lapsedQueued: false,
      deepQueued: true,
    });
    // beyond the places (max_holders 1): the rules' answer is the same as with the exact position
    expect(r.deep).toBeGreaterThanOrEqual(2);
    expect(r.newcomer).toBeGreaterThanOrEqual(2);
    expect(r.step).toMatchObject({
      reason: 'held',
      keepWaiting: true,
      enqueue: undefined,
      dequeue: undefined,
    });
  });

  it('max_holders raised beyond the head read wakes as many waiters as places opened, first come first', async () => {
    const wakes: (readonly number[] | undefined)[] = [];
    const off = store.onLockChanged((_lockId, wake) => wakes.push(wake));
    try {
      const done = await store.lockOp({
        ref: LOCK,
        actor: {},
        decide: (lock) => {
          const next = { ...lock, maxHolders: 6 };
          return { next, events: [], result: next };
        },
      });
      expect(done?.lock?.maxHolders).toBe(6);
      for (let i = 0; i < 50 && wakes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      // one holder, six places: the first five live waiters, none of the lapsed ones
      expect(wakes[0]).toEqual(live.slice(0, 5));
    } finally {
      off();
    }
  });

  it('lapsed entries behind a long live head are swept by the expiry job', async () => {
    const lockId = (await store.getLock(LOCK))!.id;
    for (let i = 0; i < 3; i++) await enqueue(store, `qh-late-${i}`, 200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await store.findExpiredLocks(10)).toContain(lockId);
    await expireOnce(store);
    expect(await store.findExpiredLocks(10)).not.toContain(lockId);
  });
});
