// The members rules: a percentage limit (rounded down, at least 1), its parsing, the count a
// grant adds, and the `checkins` gate's verdict over the members' last check-ins.
import { describe, expect, it } from 'vitest';
import {
  checkinsVerdict,
  effectiveMaxHolders,
  maxHoldersRule,
  membersAdded,
  parsePercent,
  withMembersCount,
} from '../../src/lock/members.js';
import type { LockState } from '../../src/lock/types.js';
import { lockState } from '../support/lock-state.js';

const lock = (over: Partial<LockState> = {}): LockState => lockState({ id: 1, type: 'T', ...over });
const holder = (hostId: number) => ({
  hostId,
  hostName: `h${hostId}`,
  acquiredAt: 0,
  refreshedAt: 0,
  fencingToken: hostId,
  expiresAt: null,
});

describe('percentage max_holders', () => {
  it.each([
    [10, 0, 1],
    [10, 1, 1],
    [10, 9, 1],
    [10, 10, 1],
    [10, 19, 1],
    [10, 20, 2],
    [10, 101, 10],
    [33, 10, 3],
    [100, 7, 7],
    [1, 250, 2],
  ])('%i %% of %i members is %i', (percent, members, limit) => {
    expect(effectiveMaxHolders(percent, members)).toBe(limit);
  });

  it('parses whole percentages from 1 to 100 only', () => {
    expect(['1%', '10%', '100%', '050%'].map(parsePercent)).toEqual([1, 10, 100, 50]);
    for (const bad of ['0%', '101%', '10', '10 %', ' 10%', '1.5%', '-5%', '%', '1000%', '10%%']) {
      expect(parsePercent(bad), bad).toBeUndefined();
    }
  });

  it('follows the count on a percentage lock and keeps a fixed number', () => {
    expect(withMembersCount(lock({ maxHoldersPercent: 25 }), 12)).toMatchObject({
      maxHolders: 3,
      membersCount: 12,
    });
    expect(withMembersCount(lock({ maxHolders: 4 }), 12)).toMatchObject({ maxHolders: 4, membersCount: 12 });
    expect(maxHoldersRule({ maxHolders: 3, maxHoldersPercent: 25 })).toBe('25%');
    expect(maxHoldersRule({ maxHolders: 3, maxHoldersPercent: null })).toBe(3);
  });

  it('counts a new holder as a new member unless it was one already', () => {
    const prev = lock({ holders: [holder(1)] });
    const next = lock({ holders: [holder(1), holder(2)] });
    expect(membersAdded(prev, next, undefined)).toBe(1);
    expect(membersAdded(prev, next, { hostId: 2, isMember: true })).toBe(0);
    expect(membersAdded(prev, next, { hostId: 2, isMember: false })).toBe(1);
    // a refresh or a release adds nobody
    expect(membersAdded(next, next, undefined)).toBe(0);
    expect(membersAdded(next, prev, undefined)).toBe(0);
  });
});

describe('checkinsVerdict', () => {
  const now = 10_000_000;
  const members = (recent: number, quiet: number, never = 0) => [
    ...Array.from({ length: recent }, (_, i) => ({ name: `r${i}`, lastCheckinAt: now - 60_000 })),
    ...Array.from({ length: quiet }, (_, i) => ({ name: `q${i}`, lastCheckinAt: now - 7_200_000 })),
    ...Array.from({ length: never }, (_, i) => ({ name: `n${i}`, lastCheckinAt: null })),
  ];

  it('needs a share of the members, rounded up', () => {
    expect(checkinsVerdict(members(7, 3), now, { min: '90%', within_seconds: 3600 })).toEqual({
      ok: false,
      detail: '7 of 10 members checked in within 3600 s, need 9 (90 %)',
    });
    expect(checkinsVerdict(members(9, 1), now, { min: '90%', within_seconds: 3600 }).ok).toBe(true);
    expect(checkinsVerdict(members(9, 1, 1), now, { min: '90%', within_seconds: 3600 })).toEqual({
      ok: false,
      detail: '9 of 11 members checked in within 3600 s, need 10 (90 %)',
    });
  });

  it('needs a number of hosts; the period decides who counts', () => {
    expect(checkinsVerdict(members(2, 3), now, { min: 3, within_seconds: 3600 })).toEqual({
      ok: false,
      detail: '2 of 5 members checked in within 3600 s, need 3',
    });
    expect(checkinsVerdict(members(2, 3), now, { min: 3, within_seconds: 86_400 }).ok).toBe(true);
  });

  it('an empty group passes a percentage and fails a number; a bad min fails', () => {
    expect(checkinsVerdict([], now, { min: '90%', within_seconds: 60 }).ok).toBe(true);
    expect(checkinsVerdict([], now, { min: 1, within_seconds: 60 }).ok).toBe(false);
    expect(checkinsVerdict(members(5, 0), now, { min: 'most', within_seconds: 60 })).toMatchObject({
      ok: false,
    });
  });
});
