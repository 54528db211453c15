// Every transition of the pure lock rules: free, held by me, held by another, full, disabled,
// host barred, lease expired; for acquire, release and forced release.
import { describe, expect, it } from 'vitest';
import {
  decideBlockingAcquire,
  isQueued,
  mayAdmitWaiters,
  queuePosition,
  viewQueue,
  type Waiter,
} from '../../src/lock/queue.js';
import {
  admitHolder,
  decideAcquire,
  decideExpiry,
  decideForceRelease,
  decideRelease,
  expireLeases,
  isStale,
} from '../../src/lock/rules.js';
import type { Holder, HostRef, LockState } from '../../src/lock/types.js';
import { decideUpdate, type LockChanges } from '../../src/lock/update.js';
import { lockState } from '../support/lock-state.js';

const NOW = 1_700_000_000_000;
const A: HostRef = { id: 1, name: 'a', canAcquireLocks: true };
const B: HostRef = { id: 2, name: 'b', canAcquireLocks: true };
const C: HostRef = { id: 3, name: 'c', canAcquireLocks: true };

function lock(over: Partial<LockState> = {}): LockState {
  return lockState(over, NOW - 10_000);
}

function holder(h: HostRef, token: number, over: Partial<Holder> = {}): Holder {
  return {
    hostId: h.id,
    hostName: h.name,
    acquiredAt: NOW - 5000,
    refreshedAt: NOW - 5000,
    fencingToken: token,
    expiresAt: null,
    ...over,
  };
}

const types = (d: { events: { type: string }[] }) => d.events.map((e) => e.type);

describe('decideAcquire', () => {
  it('grants a free lock with the next fencing token and an acquire event', () => {
    const d = decideAcquire(lock({ fencingCounter: 41 }), A, NOW);
    expect(d).toMatchObject({ ok: true, outcome: 'acquired' });
    expect(d.next.holders).toEqual([holder(A, 42, { acquiredAt: NOW, refreshedAt: NOW })]);
    expect(d.next.fencingCounter).toBe(42);
    expect(d.next.updatedAt).toBe(NOW);
    expect(types(d)).toEqual(['acquire']);
  });

  it('re-acquire by the holder refreshes without a new token or event', () => {
    const d = decideAcquire(lock({ fencingCounter: 3, holders: [holder(A, 3)] }), A, NOW);
    expect(d).toMatchObject({ ok: true, outcome: 'refreshed' });
    expect(d.next.holders[0]).toMatchObject({ fencingToken: 3, refreshedAt: NOW, acquiredAt: NOW - 5000 });
    expect(d.next.fencingCounter).toBe(3);
    expect(types(d)).toEqual([]);
  });

  it('refuses a lock held by another host with a fail event', () => {
    const before = lock({ fencingCounter: 1, holders: [holder(A, 1)] });
    const d = decideAcquire(before, B, NOW);
    expect(d).toMatchObject({ ok: false, reason: 'held' });
    expect(d.next).toEqual(before);
    expect(d.events).toEqual([
      { type: 'fail', hostId: 2, hostName: 'b', userId: null, userLogin: null, detail: 'acquire: held' },
    ]);
  });

  it('refuses a disabled lock even when free, and a barred host', () => {
    expect(decideAcquire(lock({ enabled: false }), A, NOW)).toMatchObject({ ok: false, reason: 'disabled' });
    expect(decideAcquire(lock(), { ...A, canAcquireLocks: false }, NOW)).toMatchObject({
      ok: false,
      reason: 'host_barred',
    });
  });

  it('a semaphore admits up to max_holders, then reports full', () => {
    let l = lock({ maxHolders: 2 });
    const a = decideAcquire(l, A, NOW);
    l = a.next;
    const b = decideAcquire(l, B, NOW + 1);
    l = b.next;
    expect(l.holders.map((h) => [h.hostName, h.fencingToken])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(decideAcquire(l, C, NOW + 2)).toMatchObject({ ok: false, reason: 'full' });
    expect(decideAcquire(l, A, NOW + 2)).toMatchObject({ ok: true, outcome: 'refreshed' });
  });

  it('lowering max_holders keeps the holders and admits nobody new until below the limit', () => {
    const l = lock({ maxHolders: 1, fencingCounter: 2, holders: [holder(A, 1), holder(B, 2)] });
    expect(decideAcquire(l, C, NOW)).toMatchObject({ ok: false, reason: 'held' });
    const afterOne = decideRelease(l, A, NOW).next;
    expect(decideAcquire(afterOne, C, NOW)).toMatchObject({ ok: false });
    const afterBoth = decideRelease(afterOne, B, NOW).next;
    expect(decideAcquire(afterBoth, C, NOW)).toMatchObject({ ok: true, outcome: 'acquired' });
  });

  it('an expired lease frees the holder first (expire event), then grants', () => {
    const l = lock({ leaseSeconds: 60, fencingCounter: 5, holders: [holder(A, 5, { expiresAt: NOW - 1 })] });
    const d = decideAcquire(l, B, NOW);
    expect(d).toMatchObject({ ok: true, outcome: 'acquired' });
    expect(d.next.holders.map((h) => h.hostName)).toEqual(['b']);
    expect(d.next.holders[0]!.expiresAt).toBe(NOW + 60_000);
    expect(d.next.holders[0]!.fencingToken).toBe(6);
    expect(types(d)).toEqual(['expire', 'acquire']);
    expect(d.events[0]).toMatchObject({ hostName: 'a' });
  });

  it('a lease not yet expired still blocks, and a refresh extends it', () => {
    const l = lock({ leaseSeconds: 60, fencingCounter: 1, holders: [holder(A, 1, { expiresAt: NOW + 1 })] });
    expect(decideAcquire(l, B, NOW)).toMatchObject({ ok: false, reason: 'held' });
    expect(decideAcquire(l, A, NOW).next.holders[0]!.expiresAt).toBe(NOW + 60_000);
  });

  it('queued hosts ahead take the free places first', () => {
    const l = lock({ maxHolders: 2, fencingCounter: 1, holders: [holder(A, 1)] });
    expect(decideAcquire(l, B, NOW, { host: B }, 1)).toMatchObject({ ok: false, reason: 'queued' });
    expect(decideAcquire(l, B, NOW, { host: B }, 0)).toMatchObject({ ok: true, outcome: 'acquired' });
    // a holder refreshing is never queued
    expect(decideAcquire(l, A, NOW, { host: A }, 5)).toMatchObject({ ok: true, outcome: 'refreshed' });
    // a full lock says full/held, not queued
    expect(decideAcquire(lock({ holders: [holder(A, 1)] }), B, NOW, { host: B }, 3)).toMatchObject({
      reason: 'held',
    });
  });

  it('fencing tokens never go back, even after every holder left', () => {
    let l = lock();
    const tokens: number[] = [];
    for (const h of [A, B, A, C]) {
      const d = decideAcquire(l, h, NOW);
      tokens.push(d.next.holders.find((x) => x.hostId === h.id)!.fencingToken);
      l = decideRelease(d.next, h, NOW).next;
    }
    expect(tokens).toEqual([1, 2, 3, 4]);
  });
});

describe('decideRelease', () => {
  it('releases my lock with a release event', () => {
    const d = decideRelease(lock({ holders: [holder(A, 1)] }), A, NOW);
    expect(d).toMatchObject({ ok: true, outcome: 'released' });
    expect(d.next.holders).toEqual([]);
    expect(types(d)).toEqual(['release']);
  });

  it('releasing a free lock is a no-op success without events', () => {
    const before = lock();
    const d = decideRelease(before, A, NOW);
    expect(d).toMatchObject({ ok: true, outcome: 'not_held' });
    expect(d.next).toBe(before);
    expect(d.events).toEqual([]);
  });

  it("refuses another host's lock, and any disabled lock", () => {
    expect(decideRelease(lock({ holders: [holder(A, 1)] }), B, NOW)).toMatchObject({
      ok: false,
      reason: 'held',
    });
    expect(decideRelease(lock({ enabled: false, holders: [holder(A, 1)] }), A, NOW)).toMatchObject({
      ok: false,
      reason: 'disabled',
    });
    expect(decideRelease(lock({ enabled: false }), A, NOW)).toMatchObject({ ok: false, reason: 'disabled' });
  });

  it('releases one holder of a semaphore and keeps the others', () => {
    const d = decideRelease(lock({ maxHolders: 3, holders: [holder(A, 1), holder(B, 2)] }), A, NOW);
    expect(d.next.holders.map((h) => h.hostName)).toEqual(['b']);
  });

  it('a holder whose lease ran out releases as not held', () => {
    const d = decideRelease(lock({ leaseSeconds: 1, holders: [holder(A, 1, { expiresAt: NOW })] }), A, NOW);
    expect(d).toMatchObject({ ok: true, outcome: 'not_held' });
    expect(types(d)).toEqual(['expire']);
  });
});

describe('decideForceRelease', () => {
  const admin = { user: { id: 9, login: 'admin' } };
  it('frees every holder with a force_release event naming host and user', () => {
    const d = decideForceRelease(lock({ maxHolders: 2, holders: [holder(A, 1), holder(B, 2)] }), NOW, admin);
    expect(d.next.holders).toEqual([]);
    expect(d.events.map((e) => [e.type, e.hostName, e.userLogin])).toEqual([
      ['force_release', 'a', 'admin'],
      ['force_release', 'b', 'admin'],
    ]);
  });
  it('frees one named holder, and is a no-op on a free lock', () => {
    const d = decideForceRelease(lock({ maxHolders: 2, holders: [holder(A, 1), holder(B, 2)] }), NOW, admin, {
      hostName: 'b',
    });
    expect(d.next.holders.map((h) => h.hostName)).toEqual(['a']);
    expect(decideForceRelease(lock(), NOW, admin)).toMatchObject({
      ok: true,
      outcome: 'not_held',
      events: [],
    });
  });
});

describe('expireLeases and isStale', () => {
  it('only drops holders whose lease has passed', () => {
    const l = lock({
      maxHolders: 3,
      holders: [holder(A, 1, { expiresAt: NOW }), holder(B, 2, { expiresAt: NOW + 1 }), holder(C, 3)],
    });
    expect(expireLeases(l, NOW).lock.holders.map((h) => h.hostName)).toEqual(['b', 'c']);
    expect(expireLeases(lock(), NOW).events).toEqual([]);
  });
  it('a lock is stale when a holder has not refreshed within the limit', () => {
    const l = lock({ holders: [holder(A, 1, { refreshedAt: NOW - 1001 })] });
    expect(isStale(l, NOW, 1000)).toBe(true);
    expect(isStale(l, NOW, 2000)).toBe(false);
    expect(isStale(lock(), NOW, 0)).toBe(false);
  });
});

const admin = { user: { id: 9, login: 'admin' } };
const X: HostRef = { id: 4, name: 'x', canAcquireLocks: true };

describe('decideUpdate', () => {
  const held = lock({ maxHolders: 2, fencingCounter: 5, holders: [holder(A, 4), holder(B, 5)] });
  const cases: {
    name: string;
    before: LockState;
    changes: LockChanges;
    target?: HostRef;
    holders: [string, number][];
    counter: number;
    events: [string, string | null][];
  }[] = [
    {
      name: 'settings only: holders and counter stay, no event',
      before: held,
      changes: { type: 'T', maxHolders: 3 },
      holders: [
        ['a', 4],
        ['b', 5],
      ],
      counter: 5,
      events: [],
    },
    {
      name: 'disable: a disable event by the operator',
      before: held,
      changes: { enabled: false },
      holders: [
        ['a', 4],
        ['b', 5],
      ],
      counter: 5,
      events: [['disable', null]],
    },
    {
      name: 'host_id null frees every holder',
      before: held,
      changes: { hostId: null },
      holders: [],
      counter: 5,
      events: [
        ['force_release', 'a'],
        ['force_release', 'b'],
      ],
    },
    {
      name: 'host_id of another host: the others go, it holds with the next token',
      before: held,
      changes: { hostId: X.id },
      target: X,
      holders: [['x', 6]],
      counter: 6,
      events: [
        ['force_release', 'a'],
        ['force_release', 'b'],
        ['acquire', 'x'],
      ],
    },
    {
      name: 'host_id of a current holder changes nothing',
      before: held,
      changes: { hostId: A.id },
      target: A,
      holders: [
        ['a', 4],
        ['b', 5],
      ],
      counter: 5,
      events: [],
    },
    {
      name: 'host_id on a free lock after deletions continues the counter',
      before: lock({ fencingCounter: 41 }),
      changes: { hostId: C.id, enabled: false },
      target: C,
      holders: [['c', 42]],
      counter: 42,
      events: [
        ['disable', null],
        ['acquire', 'c'],
      ],
    },
  ];
  it.each(cases)('$name', ({ before, changes, target, holders, counter, events }) => {
    const d = decideUpdate(before, changes, NOW, admin, target);
    expect(d.next.holders.map((h) => [h.hostName, h.fencingToken])).toEqual(holders);
    expect(d.next.fencingCounter).toBe(counter);
    expect(d.next.updatedAt).toBe(NOW);
    expect(d.events.map((e) => [e.type, e.hostName])).toEqual(events);
    expect(d.events.every((e) => e.userLogin === 'admin')).toBe(true);
  });

  it('a new lease applies to the holders from their last refresh; an unknown host_id is a 422', () => {
    const d = decideUpdate(held, { leaseSeconds: 10 }, NOW, admin);
    expect(d.next.holders.map((h) => h.expiresAt)).toEqual([NOW - 5000 + 10_000, NOW - 5000 + 10_000]);
    expect(() => decideUpdate(held, { hostId: 99 }, NOW, admin)).toThrow(/validation|Validation/);
  });

  it('shares the new-holder rule with acquire: same token, times and lease', () => {
    const free = lock({ fencingCounter: 7, leaseSeconds: 30 });
    const byUpdate = decideUpdate(free, { hostId: A.id }, NOW, admin, A).next.holders;
    expect(byUpdate).toEqual(decideAcquire(free, A, NOW).next.holders);
    expect(byUpdate).toEqual(admitHolder(free, A, NOW).holders);
  });
});

describe('decideForceRelease with options, decideExpiry', () => {
  it.each([
    { hostName: undefined, reason: undefined, left: [], freed: ['a', 'b'], detail: null },
    { hostName: 'a', reason: 'stuck after reboot', left: ['b'], freed: ['a'], detail: 'stuck after reboot' },
    { hostName: 'c', reason: 'x', left: ['a', 'b'], freed: [], detail: null },
  ])('hostName $hostName, reason $reason', ({ hostName, reason, left, freed, detail }) => {
    const before = lock({ maxHolders: 2, holders: [holder(A, 1), holder(B, 2)] });
    const d = decideForceRelease(before, NOW, admin, { hostName, reason });
    expect(d.next.holders.map((h) => h.hostName)).toEqual(left);
    expect(d.events.map((e) => [e.type, e.hostName, e.userLogin, e.detail])).toEqual(
      freed.map((h) => ['force_release', h, 'admin', detail]),
    );
    expect(d).toMatchObject({ ok: true, outcome: freed.length ? 'released' : 'not_held' });
  });

  it.each([
    { expiresAt: NOW, changed: true, left: [] },
    { expiresAt: NOW + 1, changed: false, left: ['a'] },
    { expiresAt: null, changed: false, left: ['a'] },
  ])('lease ending $expiresAt: changed $changed', ({ expiresAt, changed, left }) => {
    const d = decideExpiry(lock({ holders: [holder(A, 1, { expiresAt })] }), NOW);
    expect(d.changed).toBe(changed);
    expect(d.next.holders.map((h) => h.hostName)).toEqual(left);
    expect(d.events.map((e) => e.type)).toEqual(changed ? ['expire'] : []);
  });
});

describe('queue rules', () => {
  const w = (id: number, hostId: number): Waiter => ({
    id,
    hostId,
    deadline: NOW + 10_000,
    instanceExpiresAt: NOW + 10_000,
  });
  const queue = [w(10, 2), w(11, 3), w(12, 4)];

  it.each([
    { waiterId: undefined, ahead: 3 },
    { waiterId: 10, ahead: 0 },
    { waiterId: 12, ahead: 2 },
    { waiterId: 99, ahead: 3 },
  ])('queuePosition of $waiterId is $ahead', ({ waiterId, ahead }) => {
    expect(queuePosition(queue, waiterId)).toBe(ahead);
  });

  it('a view of the head: lapsed entries step aside, a live entry beyond the head is still queued', () => {
    const lapsed = { ...w(9, 5), deadline: NOW };
    const ghost = { ...w(13, 6), instanceExpiresAt: null };
    const far = w(40, 7);
    // the first entries read of a longer queue, with room for a head of two
    const { view, lapsed: gone } = viewQueue([lapsed, ...queue, ghost], NOW, {
      headSize: 2,
      complete: false,
      own: far,
    });
    expect(view.head.map((x) => x.id)).toEqual([10, 11]);
    expect(view.complete).toBe(false);
    expect(gone.map((x) => x.id)).toEqual([9, 13]);
    expect([isQueued(view, 11), isQueued(view, 40), isQueued(view, 9), isQueued(view, 12)]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    // beyond a partial head a position is the head's length: more than the places it was read for
    expect([queuePosition(view, 10), queuePosition(view, 11), queuePosition(view, 40)]).toEqual([0, 1, 2]);
    expect(queuePosition(view, undefined)).toBe(2);
    // read whole, the same entries are all head
    const whole = viewQueue([lapsed, ...queue, ghost], NOW, { headSize: Infinity, complete: true, own: far });
    expect(whole.view).toEqual({ head: queue, complete: true });
    expect(queuePosition(whole.view, 12)).toBe(queuePosition(queue, 12));
  });

  const base = lock({ maxHolders: 2, holders: [holder(A, 1), holder(B, 2)] });
  it.each([
    { name: 'a holder left', next: { ...base, holders: [holder(A, 1)] }, admits: true },
    { name: 'more places', next: { ...base, maxHolders: 3 }, admits: true },
    { name: 'only the type changed', next: { ...base, type: 'x' }, admits: false },
    { name: 'a refresh', next: { ...base, updatedAt: NOW }, admits: false },
    { name: 'fewer places', next: { ...base, maxHolders: 1 }, admits: false },
    // a pause or a blackout that starts answers the waiters at once; one that ends may admit
    { name: 'a pause starts', next: { ...base, pausedUntil: NOW + 60_000 }, admits: true },
    {
      name: 'a blackout is set',
      next: { ...base, blackouts: [{ from: '2030-01-01', to: '2030-01-02', time_zone: 'UTC' }] },
      admits: true,
    },
  ])('mayAdmitWaiters: $name → $admits', ({ next, admits }) => {
    expect(mayAdmitWaiters(base, next)).toBe(admits);
  });
  it('mayAdmitWaiters: enabling a lock opens it, lifting its pause too', () => {
    expect(mayAdmitWaiters({ ...base, enabled: false }, base)).toBe(true);
    expect(mayAdmitWaiters({ ...base, pausedUntil: NOW + 60_000 }, base)).toBe(true);
  });

  it('a blocking acquire hears of a closed calendar before of a holder; a plain one keeps held first', () => {
    const paused = lock({ holders: [holder(A, 1)], pausedUntil: NOW + 60_000 });
    const wait = { deadline: NOW + 60_000, final: false };
    const step = decideBlockingAcquire(
      paused,
      B,
      NOW,
      [{ id: 7, hostId: B.id, deadline: wait.deadline, instanceExpiresAt: NOW + 9_000 }],
      { ...wait, waiterId: 7 },
    );
    expect(step.decision).toMatchObject({ ok: false, reason: 'paused' });
    expect(step).toMatchObject({ keepWaiting: false, dequeue: 7 });
    expect(step.events.map((e) => e.detail)).toEqual(['acquire: paused']);
    expect(decideAcquire(paused, B, NOW)).toMatchObject({ ok: false, reason: 'held' });
    // the global pause alike; the holder still refreshes
    const held = lock({ holders: [holder(A, 1)] });
    const globalPause = { until: NOW + 60_000, reason: null };
    expect(decideBlockingAcquire(held, B, NOW, [], wait, { globalPause }).decision).toMatchObject({
      reason: 'paused',
    });
    expect(decideBlockingAcquire(held, A, NOW, [], wait, { globalPause }).decision).toMatchObject({
      ok: true,
      outcome: 'refreshed',
    });
  });

  const held = lock({ fencingCounter: 1, holders: [holder(A, 1)] });
  const free = lock({ fencingCounter: 1 });
  it.each([
    {
      name: 'held, time left, not queued: joins the queue, no fail event',
      lock: held,
      waiters: [],
      wait: { deadline: NOW + 5000, final: false },
      keepWaiting: true,
      enqueue: true,
      dequeue: undefined,
      events: [],
    },
    {
      name: 'held, already queued: waits on without a new entry',
      lock: held,
      waiters: [w(20, 3)],
      wait: { waiterId: 20, deadline: NOW + 5000, final: false },
      keepWaiting: true,
      enqueue: false,
      dequeue: undefined,
      events: [],
    },
    {
      name: 'held, time up: refused with a fail event, leaves the queue',
      lock: held,
      waiters: [w(20, 3)],
      wait: { waiterId: 20, deadline: NOW, final: false },
      keepWaiting: false,
      enqueue: false,
      dequeue: 20,
      events: ['fail'],
    },
    {
      name: 'held, final attempt: refused for good',
      lock: held,
      waiters: [],
      wait: { deadline: NOW + 5000, final: true },
      keepWaiting: false,
      enqueue: false,
      dequeue: undefined,
      events: ['fail'],
    },
    {
      name: 'free but someone queued ahead: waits its turn',
      lock: free,
      waiters: [w(19, 2), w(20, 3)],
      wait: { waiterId: 20, deadline: NOW + 5000, final: false },
      keepWaiting: true,
      enqueue: false,
      dequeue: undefined,
      events: [],
    },
    {
      name: 'free and first in the queue: granted, leaves the queue',
      lock: free,
      waiters: [w(20, 3), w(21, 2)],
      wait: { waiterId: 20, deadline: NOW + 5000, final: false },
      keepWaiting: false,
      enqueue: false,
      dequeue: 20,
      events: ['acquire'],
    },
    {
      name: 'disabled: refused at once, never queued',
      lock: lock({ enabled: false }),
      waiters: [],
      wait: { deadline: NOW + 5000, final: false },
      keepWaiting: false,
      enqueue: false,
      dequeue: undefined,
      events: ['fail'],
    },
  ])('decideBlockingAcquire: $name', ({ lock: l, waiters, wait, keepWaiting, enqueue, dequeue, events }) => {
    const step = decideBlockingAcquire(l, C, NOW, waiters, wait);
    expect(step.keepWaiting).toBe(keepWaiting);
    expect(step.enqueue !== undefined).toBe(enqueue);
    if (enqueue) expect(step.enqueue).toEqual({ deadline: wait.deadline });
    expect(step.dequeue).toBe(dequeue);
    expect(step.events.map((e) => e.type)).toEqual(events);
  });
});
