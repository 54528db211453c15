// Which waiters a change wakes (the head of the queue, as many as places are free), and the
// notification that carries them to other instances.
import { describe, expect, it } from 'vitest';
import { MAX_NAMED_WAITERS, waitersToWake } from '../../src/lock/wake.js';
import type { LockState } from '../../src/lock/types.js';
import { decodeChangeNote, encodeChangeNote } from '../../src/store/change-note.js';

const NOW = 1_000_000;

function lock(maxHolders: number, holders: (number | null)[], enabled = true): LockState {
  return {
    id: 1,
    name: 'l',
    type: 'ForemanDlm::Dlmlock::Update',
    enabled,
    maxHolders,
    leaseSeconds: null,
    windows: [],
    blackouts: [],
    pausedUntil: null,
    pauseReason: null,
    fencingCounter: holders.length,
    createdAt: 0,
    updatedAt: 0,
    holders: holders.map((expiresAt, i) => ({
      hostId: 100 + i,
      hostName: `h${i}`,
      acquiredAt: 0,
      refreshedAt: 0,
      fencingToken: i + 1,
      expiresAt,
    })),
  } as LockState;
}

const queue = (...ids: number[]) => ids.map((id) => ({ id }));

describe('waitersToWake', () => {
  it('wakes as many from the head as places are free', () => {
    expect(waitersToWake(lock(1, []), queue(5, 7, 9), NOW)).toEqual([5]);
    expect(waitersToWake(lock(10, [null, null, null]), queue(5, 7, 9), NOW)).toEqual([5, 7, 9]);
    expect(waitersToWake(lock(3, [null]), queue(5, 7, 9), NOW)).toEqual([5, 7]);
  });

  it('wakes nobody while the lock is full', () => {
    expect(waitersToWake(lock(1, [null]), queue(5, 7), NOW)).toEqual([]);
    // max_holders lowered below the holder count
    expect(waitersToWake(lock(1, [null, null]), queue(5), NOW)).toEqual([]);
  });

  it('counts a holder whose lease ran out as gone', () => {
    expect(waitersToWake(lock(1, [NOW - 1]), queue(5, 7), NOW)).toEqual([5]);
    expect(waitersToWake(lock(1, [NOW + 1]), queue(5, 7), NOW)).toEqual([]);
  });

  it('wakes everyone on a disabled lock (each must hear it), or beyond the ids one note names', () => {
    expect(waitersToWake(lock(1, [], false), queue(5, 7), NOW)).toBeUndefined();
    const many = queue(...Array.from({ length: MAX_NAMED_WAITERS + 5 }, (_, i) => i + 1));
    expect(waitersToWake(lock(10_000, []), many, NOW)).toBeUndefined();
  });

  it('wakes everyone on a paused lock: a blocking acquire is answered at once, not kept waiting', () => {
    const paused = { ...lock(1, [null]), pausedUntil: NOW + 1 };
    expect(waitersToWake(paused, queue(5, 7), NOW)).toBeUndefined();
    // a pause that has passed is no pause
    expect(waitersToWake({ ...paused, pausedUntil: NOW }, queue(5, 7), NOW)).toEqual([]);
  });
});

describe('change notes', () => {
  it('round-trip the lock, the waiters to wake and the sender', () => {
    const note = { lockId: 42, wake: [3, 4], from: 'instance-a' };
    expect(decodeChangeNote(encodeChangeNote(note))).toEqual(note);
    expect(decodeChangeNote(encodeChangeNote({ lockId: 42, from: 'a' }))).toEqual({
      lockId: 42,
      wake: undefined,
      from: 'a',
    });
  });

  it('carry "every lock" (the global pause), which earlier versions read as "anything changed"', () => {
    const note = encodeChangeNote({ lockId: null, from: 'instance-a' });
    expect(decodeChangeNote(note)).toEqual({ lockId: null, from: 'instance-a' });
    expect(JSON.parse(note)).toMatchObject({ lock: null });
  });

  it('read a bare lock id (earlier versions) as "wake every waiter of that lock"', () => {
    expect(decodeChangeNote('42')).toEqual({ lockId: 42 });
  });

  it('read anything else as "anything may have changed", and bad wake lists as "wake all"', () => {
    expect(decodeChangeNote(undefined)).toBeNull();
    expect(decodeChangeNote('{oops')).toBeNull();
    expect(decodeChangeNote('"text"')).toBeNull();
    expect(decodeChangeNote('{"lock":"x"}')).toBeNull();
    expect(decodeChangeNote('{"lock":1,"wake":["a"]}')).toEqual({
      lockId: 1,
      wake: undefined,
      from: undefined,
    });
  });
});
