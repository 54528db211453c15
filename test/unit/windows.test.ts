import { describe, expect, it } from 'vitest';
import { decideAcquire } from '../../src/lock/rules.js';
import type { LockState } from '../../src/lock/types.js';
import {
  isInsideWindow,
  nextWindowOpening,
  parseWindows,
  type MaintenanceWindow,
} from '../../src/lock/windows.js';

const at = (iso: string) => Date.parse(iso);
const berlinSunday: MaintenanceWindow = {
  days: ['sun'],
  start: '02:00',
  duration_minutes: 180,
  time_zone: 'Europe/Berlin',
};

describe('isInsideWindow', () => {
  it('follows the window in its own time zone (Sunday 02:00–05:00 Berlin = 01:00–04:00 UTC in winter)', () => {
    expect(isInsideWindow([berlinSunday], at('2026-11-29T00:59:59Z'))).toBe(false);
    expect(isInsideWindow([berlinSunday], at('2026-11-29T01:00:00Z'))).toBe(true);
    expect(isInsideWindow([berlinSunday], at('2026-11-29T03:59:59Z'))).toBe(true);
    expect(isInsideWindow([berlinSunday], at('2026-11-29T04:00:00Z'))).toBe(false);
    expect(isInsideWindow([berlinSunday], at('2026-11-28T01:30:00Z'))).toBe(false);
  });

  it('keeps the local time across daylight saving (summer: 00:00–03:00 UTC)', () => {
    expect(isInsideWindow([berlinSunday], at('2026-07-05T00:30:00Z'))).toBe(true);
    expect(isInsideWindow([berlinSunday], at('2026-07-05T03:30:00Z'))).toBe(false);
  });

  it('handles windows that run past midnight into the next day', () => {
    const fridayNight: MaintenanceWindow = {
      days: ['fri'],
      start: '23:00',
      duration_minutes: 120,
      time_zone: 'UTC',
    };
    expect(isInsideWindow([fridayNight], at('2026-11-27T23:30:00Z'))).toBe(true);
    expect(isInsideWindow([fridayNight], at('2026-11-28T00:59:00Z'))).toBe(true);
    expect(isInsideWindow([fridayNight], at('2026-11-28T01:00:00Z'))).toBe(false);
    expect(isInsideWindow([fridayNight], at('2026-11-26T23:30:00Z'))).toBe(false);
  });

  it('any of several windows counts', () => {
    const weekday: MaintenanceWindow = {
      days: ['mon', 'wed'],
      start: '12:00',
      duration_minutes: 30,
      time_zone: 'UTC',
    };
    expect(isInsideWindow([berlinSunday, weekday], at('2026-11-25T12:10:00Z'))).toBe(true);
    expect(isInsideWindow([berlinSunday, weekday], at('2026-11-26T12:10:00Z'))).toBe(false);
  });
});

describe('nextWindowOpening', () => {
  it('names the next opening, in UTC milliseconds', () => {
    expect(nextWindowOpening([berlinSunday], at('2026-11-26T10:00:00Z'))).toBe(at('2026-11-29T01:00:00Z'));
    // while inside a window, the next one is a week later
    expect(nextWindowOpening([berlinSunday], at('2026-11-29T02:00:00Z'))).toBe(at('2026-12-06T01:00:00Z'));
  });
  it('across the spring-forward gap the window opens when the clock jumps', () => {
    const gap: MaintenanceWindow = {
      days: ['sun'],
      start: '02:30',
      duration_minutes: 60,
      time_zone: 'Europe/Berlin',
    };
    const next = nextWindowOpening([gap], at('2026-03-27T12:00:00Z'))!;
    expect(next).toBeGreaterThanOrEqual(at('2026-03-29T00:30:00Z'));
    expect(next).toBeLessThanOrEqual(at('2026-03-29T01:30:00Z'));
  });
  it('is undefined without windows', () => {
    expect(nextWindowOpening([], Date.now())).toBeUndefined();
  });
});

describe('parseWindows', () => {
  it('normalises days and accepts null as no windows', () => {
    expect(
      parseWindows([{ days: ['SUN', 'mon'], start: '02:00', duration_minutes: 60, time_zone: 'UTC' }]),
    ).toEqual({
      windows: [{ days: ['mon', 'sun'], start: '02:00', duration_minutes: 60, time_zone: 'UTC' }],
      problems: [],
    });
    expect(parseWindows(null)).toEqual({ windows: [], problems: [] });
  });
  it.each([
    ['not an array', 'x', /array/],
    ['no days', [{ days: [], start: '02:00', duration_minutes: 60, time_zone: 'UTC' }], /days/],
    ['a bad day', [{ days: ['someday'], start: '02:00', duration_minutes: 60, time_zone: 'UTC' }], /days/],
    ['a bad start', [{ days: ['mon'], start: '25:00', duration_minutes: 60, time_zone: 'UTC' }], /start/],
    [
      'a zero duration',
      [{ days: ['mon'], start: '02:00', duration_minutes: 0, time_zone: 'UTC' }],
      /duration/,
    ],
    [
      'a bad zone',
      [{ days: ['mon'], start: '02:00', duration_minutes: 60, time_zone: 'Mars/Olympus' }],
      /time_zone/,
    ],
    [
      'an unknown key',
      [{ days: ['mon'], start: '02:00', duration_minutes: 60, time_zone: 'UTC', x: 1 }],
      /unknown/,
    ],
  ])('rejects %s', (_what, raw, message) => {
    const { windows, problems } = parseWindows(raw);
    expect(windows).toBeUndefined();
    expect(problems.join(' ')).toMatch(message);
  });
});

describe('acquire and windows', () => {
  const lock: LockState = {
    id: 1,
    name: 'w',
    type: 'ForemanDlm::Dlmlock::Update',
    enabled: true,
    maxHolders: 2,
    leaseSeconds: null,
    windows: [berlinSunday],
    blackouts: [],
    pausedUntil: null,
    pauseReason: null,
    fencingCounter: 1,
    createdAt: 0,
    updatedAt: 0,
    holders: [{ hostId: 1, hostName: 'a', acquiredAt: 0, refreshedAt: 0, fencingToken: 1, expiresAt: null }],
  };
  const outside = at('2026-11-26T10:00:00Z');
  it('refuses new holders outside every window, with a fail event', () => {
    const d = decideAcquire(lock, { id: 2, name: 'b', canAcquireLocks: true }, outside);
    expect(d).toMatchObject({ ok: false, reason: 'outside_window' });
    expect(d.events.map((e) => e.detail)).toEqual(['acquire: outside_window']);
  });
  it('admits them inside a window, and lets a holder refresh at any time', () => {
    expect(
      decideAcquire(lock, { id: 2, name: 'b', canAcquireLocks: true }, at('2026-11-29T01:30:00Z')).ok,
    ).toBe(true);
    expect(decideAcquire(lock, { id: 1, name: 'a', canAcquireLocks: true }, outside)).toMatchObject({
      ok: true,
      outcome: 'refreshed',
    });
  });
});
