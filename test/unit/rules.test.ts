// Every transition of the pure lock rules: free, held by me, held by another, full, disabled,
// host barred, lease expired; for acquire, release and forced release.
import { describe, expect, it } from 'vitest';
import {
  decideAcquire,
  decideForceRelease,
  decideRelease,
  expireLeases,
  isStale,
} from '../../src/lock/rules.js';
import type { Holder, HostRef, LockState } from '../../src/lock/types.js';

const NOW = 1_700_000_000_000;
const A: HostRef = { id: 1, name: 'a', canAcquireLocks: true };
const B: HostRef = { id: 2, name: 'b', canAcquireLocks: true };
const C: HostRef = { id: 3, name: 'c', canAcquireLocks: true };

function lock(over: Partial<LockState> = {}): LockState {
  return {
    id: 7,
    name: 'l',
    type: 'ForemanDlm::Dlmlock::Update',
    enabled: true,
    maxHolders: 1,
    leaseSeconds: null,
    windows: [],
    fencingCounter: 0,
    createdAt: NOW - 10_000,
    updatedAt: NOW - 10_000,
    holders: [],
    ...over,
  };
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
    const d = decideForceRelease(
      lock({ maxHolders: 2, holders: [holder(A, 1), holder(B, 2)] }),
      NOW,
      admin,
      'b',
    );
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
