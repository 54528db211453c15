// Calendar windows beside the weekly ones: the n-th weekday of a month and days of a month,
// checked across daylight-saving changes in two zones and across a year end.
import { describe, expect, it } from 'vitest';
import {
  isInsideWindow,
  nextWindowOpening,
  parseWindows,
  type MaintenanceWindow,
} from '../../src/lock/windows.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const berlin = { start: '02:00', duration_minutes: 180, time_zone: 'Europe/Berlin' };

describe('nth weekday of the month', () => {
  const secondTuesday: MaintenanceWindow = { nth_weekday: { nth: 2, day: 'tue' }, ...berlin };

  it('opens on the second Tuesday only (December 2026: the 8th, 02:00 CET = 01:00 UTC)', () => {
    expect(isInsideWindow([secondTuesday], at('2026-12-08T01:30:00Z'))).toBe(true);
    expect(isInsideWindow([secondTuesday], at('2026-12-01T01:30:00Z'))).toBe(false);
    expect(isInsideWindow([secondTuesday], at('2026-12-15T01:30:00Z'))).toBe(false);
    expect(iso(nextWindowOpening([secondTuesday], at('2026-11-28T12:00:00Z')))).toBe(
      '2026-12-08T01:00:00.000Z',
    );
  });

  it('crosses the year end: after the December window the next is the second Tuesday of January', () => {
    expect(iso(nextWindowOpening([secondTuesday], at('2026-12-08T05:00:00Z')))).toBe(
      '2027-01-12T01:00:00.000Z',
    );
  });

  it('the last Sunday keeps local time across the spring-forward night (Berlin, 28 March 2027)', () => {
    const lastSunday: MaintenanceWindow = { nth_weekday: { nth: -1, day: 'sun' }, ...berlin };
    // 02:00 does not exist that night: the window opens when the clock jumps to 03:00 CEST (01:00 UTC)
    expect(iso(nextWindowOpening([lastSunday], at('2027-03-01T00:00:00Z')))).toBe('2027-03-28T01:00:00.000Z');
    // in October the last Sunday is the fall-back night: 02:00 CEST = 00:00 UTC
    expect(iso(nextWindowOpening([lastSunday], at('2027-10-01T00:00:00Z')))).toBe('2027-10-31T00:00:00.000Z');
    expect(isInsideWindow([lastSunday], at('2027-03-21T01:30:00Z'))).toBe(false);
  });

  it('follows New York across its own DST change (second Sunday of March 2027, 01:00 local)', () => {
    const ny: MaintenanceWindow = {
      nth_weekday: { nth: 2, day: 'sun' },
      start: '01:00',
      duration_minutes: 120,
      time_zone: 'America/New_York',
    };
    // 01:00 EST = 06:00 UTC; the window runs 2 real hours, into EDT
    expect(iso(nextWindowOpening([ny], at('2027-03-01T00:00:00Z')))).toBe('2027-03-14T06:00:00.000Z');
    expect(isInsideWindow([ny], at('2027-03-14T07:30:00Z'))).toBe(true);
    expect(isInsideWindow([ny], at('2027-03-14T08:00:00Z'))).toBe(false);
    // in November (EST again) the second Sunday is the 14th; 01:00 EST = 06:00 UTC
    expect(iso(nextWindowOpening([ny], at('2027-11-01T00:00:00Z')))).toBe('2027-11-14T06:00:00.000Z');
  });
});

describe('days of the month', () => {
  it('the 31st skips the months without one', () => {
    const last: MaintenanceWindow = {
      days_of_month: [31],
      start: '22:00',
      duration_minutes: 60,
      time_zone: 'UTC',
    };
    expect(iso(nextWindowOpening([last], at('2027-01-31T23:30:00Z')))).toBe('2027-03-31T22:00:00.000Z');
    expect(isInsideWindow([last], at('2027-01-31T22:30:00Z'))).toBe(true);
  });

  it('a window running past midnight counts on the next day, across the year end', () => {
    const nye: MaintenanceWindow = {
      days_of_month: [31],
      start: '23:00',
      duration_minutes: 120,
      time_zone: 'UTC',
    };
    expect(isInsideWindow([nye], at('2027-01-01T00:30:00Z'))).toBe(true);
    expect(isInsideWindow([nye], at('2027-01-01T01:00:00Z'))).toBe(false);
  });

  it('mixes with weekly windows: the earliest opening wins', () => {
    const windows: MaintenanceWindow[] = [
      { days_of_month: [1, 15], ...berlin },
      { days: ['sat'], start: '10:00', duration_minutes: 30, time_zone: 'UTC' },
    ];
    expect(iso(nextWindowOpening(windows, at('2026-11-28T12:00:00Z')))).toBe('2026-12-01T01:00:00.000Z');
    expect(iso(nextWindowOpening(windows, at('2026-11-28T09:00:00Z')))).toBe('2026-11-28T10:00:00.000Z');
  });
});

describe('parseWindows with calendar rules', () => {
  it('accepts and normalises them', () => {
    const { windows, problems } = parseWindows([
      { nth_weekday: { nth: -1, day: 'FRI' }, ...berlin },
      { days_of_month: [15, 1, 15], ...berlin },
    ]);
    expect(problems).toEqual([]);
    expect(windows).toEqual([
      { nth_weekday: { nth: -1, day: 'fri' }, ...berlin },
      { days_of_month: [1, 15], ...berlin },
    ]);
  });

  it.each([
    [{ ...berlin }, 'needs exactly one of days, nth_weekday, days_of_month'],
    [{ days: ['sun'], days_of_month: [1], ...berlin }, 'needs exactly one of'],
    [{ nth_weekday: { nth: 5, day: 'tue' }, ...berlin }, 'nth_weekday must be'],
    [{ nth_weekday: { nth: 2, day: 'tue', month: 1 }, ...berlin }, 'nth_weekday must be'],
    [{ nth_weekday: 'second tuesday', ...berlin }, 'nth_weekday must be'],
    [{ days_of_month: [0], ...berlin }, 'days_of_month must be'],
    [{ days_of_month: [], ...berlin }, 'days_of_month must be'],
    [{ days_of_month: [1.5], ...berlin }, 'days_of_month must be'],
  ])('refuses %o', (window, message) => {
    const { windows, problems } = parseWindows([window]);
    expect(windows).toBeUndefined();
    expect(problems.join('; ')).toContain(message);
  });
});
