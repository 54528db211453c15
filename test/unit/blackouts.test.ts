// Blackouts and pauses (src/lock/calendar.ts): whole local days across daylight-saving changes
// in two zones and across a year end, inclusive dates, overlaps with each other and with
// windows, the order of the acquire rule's refusals, and when acquiring becomes possible again.
import { describe, expect, it } from 'vitest';
import {
  blackoutSpan,
  calendarRefusal,
  nextAdmission,
  nextClosingAt,
  nextWindowAt,
  parseBlackouts,
  parseInstant,
  type Blackout,
  type Calendar,
  type Pause,
} from '../../src/lock/calendar.js';
import { decideBlockingAcquire } from '../../src/lock/queue.js';
import { decideAcquire, WAITABLE } from '../../src/lock/rules.js';
import type { HostRef, LockState } from '../../src/lock/types.js';
import type { MaintenanceWindow } from '../../src/lock/windows.js';
import { lockState } from '../support/lock-state.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const span = (b: Blackout) => {
  const { start, end } = blackoutSpan(b);
  return [iso(start), iso(end)];
};
const calendar = (over: Partial<Calendar>): Calendar => ({
  windows: [],
  blackouts: [],
  pausedUntil: null,
  ...over,
});
const freeze: Blackout = {
  from: '2026-12-20',
  to: '2027-01-06',
  time_zone: 'Europe/Berlin',
  reason: 'freeze',
};
const sundayNight: MaintenanceWindow = {
  days: ['sun'],
  start: '02:00',
  duration_minutes: 180,
  time_zone: 'Europe/Berlin',
};

describe('parseBlackouts', () => {
  it('accepts whole days with a zone and an optional reason; null clears', () => {
    expect(parseBlackouts([freeze, { from: '2027-05-01', to: '2027-05-01', time_zone: 'UTC' }])).toEqual({
      blackouts: [freeze, { from: '2027-05-01', to: '2027-05-01', time_zone: 'UTC' }],
      problems: [],
    });
    expect(parseBlackouts(null)).toEqual({ blackouts: [], problems: [] });
  });

  it.each([
    ['to before from', [{ ...freeze, from: '2027-01-07' }], /blackout 1 from must not be after to/],
    [
      'a date that does not exist',
      [{ ...freeze, to: '2027-02-29' }],
      /blackout 1 to must be a date YYYY-MM-DD/,
    ],
    ['a time instead of a day', [{ ...freeze, from: '2026-12-20T10:00' }], /from must be a date/],
    ['an unknown zone', [{ ...freeze, time_zone: 'Mars/Olympus' }], /time_zone must be an IANA time zone/],
    ['an unknown key', [{ ...freeze, until: 'x' }], /has unknown keys: until/],
    ['a long reason', [{ ...freeze, reason: 'x'.repeat(201) }], /reason must be a text of at most 200/],
    ['not a list', { ...freeze }, /must be an array of blackouts or null/],
    ['too many', Array.from({ length: 101 }, () => freeze), /at most 100 blackouts/],
  ])('refuses %s', (_what, raw, message) => {
    const { blackouts, problems } = parseBlackouts(raw);
    expect(blackouts).toBeUndefined();
    expect(problems.join(' ')).toMatch(message);
  });
});

describe('parseInstant', () => {
  it('reads ISO 8601 (UTC without an offset) and the rendered form', () => {
    expect(iso(parseInstant('2026-12-24T18:00:00+01:00'))).toBe('2026-12-24T17:00:00.000Z');
    expect(iso(parseInstant('2026-12-24T18:00:00'))).toBe('2026-12-24T18:00:00.000Z');
    expect(iso(parseInstant('2026-12-24 18:00:00 UTC'))).toBe('2026-12-24T18:00:00.000Z');
    expect(parseInstant('tomorrow')).toBeUndefined();
    expect(parseInstant('2026-13-01T00:00:00Z')).toBeUndefined();
  });
});

describe('blackout days across daylight-saving changes', () => {
  it('Europe/Berlin: the spring-forward day has 23 hours, the fall-back day 25', () => {
    expect(span({ from: '2027-03-28', to: '2027-03-28', time_zone: 'Europe/Berlin' })).toEqual([
      '2027-03-27T23:00:00.000Z',
      '2027-03-28T22:00:00.000Z',
    ]);
    expect(span({ from: '2026-10-25', to: '2026-10-25', time_zone: 'Europe/Berlin' })).toEqual([
      '2026-10-24T22:00:00.000Z',
      '2026-10-25T23:00:00.000Z',
    ]);
  });

  it('America/New_York: the same on its own dates', () => {
    expect(span({ from: '2027-03-14', to: '2027-03-14', time_zone: 'America/New_York' })).toEqual([
      '2027-03-14T05:00:00.000Z',
      '2027-03-15T04:00:00.000Z',
    ]);
    expect(span({ from: '2026-11-01', to: '2026-11-01', time_zone: 'America/New_York' })).toEqual([
      '2026-11-01T04:00:00.000Z',
      '2026-11-02T05:00:00.000Z',
    ]);
  });

  it('includes both dates to their last local minute, and not a minute more', () => {
    const lock = calendar({ blackouts: [freeze] });
    expect(calendarRefusal(lock, null, at('2026-12-19T22:59:59Z'))).toBeUndefined();
    expect(calendarRefusal(lock, null, at('2026-12-19T23:00:00Z'))).toBe('blackout');
    expect(calendarRefusal(lock, null, at('2027-01-06T22:59:59Z'))).toBe('blackout');
    expect(calendarRefusal(lock, null, at('2027-01-06T23:00:00Z'))).toBeUndefined();
  });
});

describe('when acquiring becomes possible again', () => {
  it('across the year end: the day after the freeze, local midnight', () => {
    const lock = calendar({ blackouts: [freeze] });
    expect(iso(nextAdmission(lock, null, at('2026-12-31T23:30:00Z')))).toBe('2027-01-06T23:00:00.000Z');
    // the lock JSON says the same while refused, and nothing when admitted without windows
    expect(iso(nextWindowAt(lock, null, at('2026-12-31T23:30:00Z')))).toBe('2027-01-06T23:00:00.000Z');
    expect(nextWindowAt(lock, null, at('2027-02-01T00:00:00Z'))).toBeUndefined();
  });

  it('overlapping blackouts: after the last one ends', () => {
    const lock = calendar({
      blackouts: [
        { from: '2026-12-28', to: '2027-01-10', time_zone: 'America/New_York' },
        freeze,
        { from: '2026-12-24', to: '2026-12-26', time_zone: 'UTC' },
      ],
    });
    // New York's 10 January ends at 05:00 UTC on the 11th
    expect(iso(nextAdmission(lock, null, at('2026-12-24T12:00:00Z')))).toBe('2027-01-11T05:00:00.000Z');
  });

  it('a blackout covering window openings: the first opening after it', () => {
    const lock = calendar({ windows: [sundayNight], blackouts: [freeze] });
    expect(calendarRefusal(lock, null, at('2026-12-27T01:30:00Z'))).toBe('blackout');
    // Sundays 20 Dec, 27 Dec and 3 Jan are blacked out; Sunday 10 January, 02:00 CET
    expect(iso(nextAdmission(lock, null, at('2026-12-27T01:30:00Z')))).toBe('2027-01-10T01:00:00.000Z');
    // admitted inside the window of 13 December: the lock JSON names the next opening it lets through
    expect(calendarRefusal(lock, null, at('2026-12-13T01:30:00Z'))).toBeUndefined();
    expect(iso(nextWindowAt(lock, null, at('2026-12-13T01:30:00Z')))).toBe('2027-01-10T01:00:00.000Z');
  });

  it('a blackout ending inside a window: acquiring opens at the end of the blackout', () => {
    const nightly: MaintenanceWindow = {
      days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
      start: '22:00',
      duration_minutes: 240,
      time_zone: 'Europe/Berlin',
    };
    const lock = calendar({ windows: [nightly], blackouts: [freeze] });
    expect(iso(nextAdmission(lock, null, at('2027-01-02T12:00:00Z')))).toBe('2027-01-06T23:00:00.000Z');
  });

  it('New York fall-back night: a 01:30 window after a blackout opens at the first 01:30 (EDT)', () => {
    const lock = calendar({
      windows: [{ days: ['sun'], start: '01:30', duration_minutes: 60, time_zone: 'America/New_York' }],
      blackouts: [{ from: '2026-10-31', to: '2026-10-31', time_zone: 'America/New_York' }],
    });
    expect(iso(nextAdmission(lock, null, at('2026-10-31T12:00:00Z')))).toBe('2026-11-01T05:30:00.000Z');
  });

  it('Berlin spring-forward night: a 02:30 window after a blackout opens at 03:30 CEST (the missing hour moves it forward)', () => {
    const lock = calendar({
      windows: [{ days: ['sun'], start: '02:30', duration_minutes: 60, time_zone: 'Europe/Berlin' }],
      blackouts: [{ from: '2027-03-27', to: '2027-03-27', time_zone: 'Europe/Berlin' }],
    });
    expect(iso(nextAdmission(lock, null, at('2027-03-27T12:00:00Z')))).toBe('2027-03-28T01:30:00.000Z');
  });

  it('pauses: the later of the global and the lock pause, then blackouts, then windows', () => {
    const global: Pause = { until: at('2026-12-18T12:00:00Z'), reason: 'incident' };
    const lock = calendar({
      windows: [sundayNight],
      blackouts: [freeze],
      pausedUntil: at('2026-12-19T00:00:00Z'),
    });
    const now = at('2026-12-17T00:00:00Z');
    expect(calendarRefusal(lock, global, now)).toBe('paused');
    expect(calendarRefusal(lock, null, now)).toBe('paused');
    // the pause ends in the freeze, which ends on a Wednesday: the next Sunday window
    expect(iso(nextAdmission(lock, global, now))).toBe('2027-01-10T01:00:00.000Z');
    // a global pause beyond the freeze and the window of 10 January
    const long: Pause = { until: at('2027-01-10T02:00:00Z'), reason: null };
    expect(iso(nextAdmission(lock, long, now))).toBe('2027-01-10T02:00:00.000Z');
  });

  it('a pause in the past pauses nothing', () => {
    const lock = calendar({ pausedUntil: at('2026-01-01T00:00:00Z') });
    const past: Pause = { until: at('2026-01-01T00:00:00Z'), reason: 'old' };
    expect(calendarRefusal(lock, past, at('2026-06-01T00:00:00Z'))).toBeUndefined();
    expect(nextWindowAt(lock, past, at('2026-06-01T00:00:00Z'))).toBeUndefined();
  });

  it('nothing within 400 days: undefined (null in the lock JSON)', () => {
    const years = calendar({ blackouts: [{ from: '2026-01-01', to: '2028-12-31', time_zone: 'UTC' }] });
    expect(nextAdmission(years, null, at('2026-06-01T00:00:00Z'))).toBeUndefined();
    const paused = calendar({ pausedUntil: at('2028-01-01T00:00:00Z') });
    expect(nextAdmission(paused, null, at('2026-06-01T00:00:00Z'))).toBeUndefined();
    // a pause ending within reach is reported even with a far blackout after it
    const both = calendar({ pausedUntil: at('2026-07-01T00:00:00Z') });
    expect(iso(nextAdmission(both, null, at('2026-06-01T00:00:00Z')))).toBe('2026-07-01T00:00:00.000Z');
  });
});

describe('when the clock alone closes the calendar (a blocking acquire sleeps no longer)', () => {
  it("inside a window: the window's end, in its own time zone", () => {
    const lock = calendar({ windows: [sundayNight] });
    // Sunday 2026-12-06 02:00–05:00 Berlin = 01:00–04:00 UTC
    expect(iso(nextClosingAt(lock, at('2026-12-06T02:30:00Z')))).toBe('2026-12-06T04:00:00.000Z');
  });

  it('windows that overlap or touch close when the last of them does', () => {
    const early: MaintenanceWindow = {
      days: ['sun'],
      start: '01:00',
      duration_minutes: 90,
      time_zone: 'UTC',
    };
    const touching: MaintenanceWindow = {
      days: ['sun'],
      start: '02:30',
      duration_minutes: 60,
      time_zone: 'UTC',
    };
    const lock = calendar({ windows: [early, touching] });
    expect(iso(nextClosingAt(lock, at('2026-12-06T01:10:00Z')))).toBe('2026-12-06T03:30:00.000Z');
  });

  it('the next blackout day, when it comes before the window closes or without windows', () => {
    const lock = calendar({ blackouts: [freeze] });
    // 20 December begins at 23:00 UTC on the 19th in Berlin
    expect(iso(nextClosingAt(lock, at('2026-12-19T20:00:00Z')))).toBe('2026-12-19T23:00:00.000Z');
    const both = calendar({
      windows: [{ days: ['sat'], start: '22:00', duration_minutes: 240, time_zone: 'UTC' }],
      blackouts: [freeze],
    });
    expect(iso(nextClosingAt(both, at('2026-12-19T22:30:00Z')))).toBe('2026-12-19T23:00:00.000Z');
  });

  it('nothing ahead: no windows and no blackout to come', () => {
    expect(nextClosingAt(calendar({}), at('2026-12-19T20:00:00Z'))).toBeUndefined();
    expect(nextClosingAt(calendar({ blackouts: [freeze] }), at('2027-02-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('the acquire rule', () => {
  const NOW = at('2026-12-24T12:00:00Z');
  const A: HostRef = { id: 1, name: 'a', canAcquireLocks: true };
  const B: HostRef = { id: 2, name: 'b', canAcquireLocks: true };
  const lock = (over: Partial<LockState>): LockState => lockState({ id: 1, fencingCounter: 1, ...over });
  const held = {
    holders: [{ hostId: 1, hostName: 'a', acquiredAt: 0, refreshedAt: 0, fencingToken: 1, expiresAt: null }],
  };
  const reasonOf = (l: LockState, host: HostRef, pause: Pause | null = null) => {
    const d = decideAcquire(l, host, NOW, { host }, 0, { globalPause: pause });
    return d.ok ? d.outcome : d.reason;
  };
  const globalPause: Pause = { until: NOW + 3_600_000, reason: 'incident' };

  it('checks held/full first, then paused (global, lock), blackout, outside_window', () => {
    const closed = lock({ windows: [sundayNight], blackouts: [freeze], pausedUntil: NOW + 60_000 });
    expect(reasonOf(lock({ ...held, pausedUntil: NOW + 1 }), B)).toBe('held');
    expect(reasonOf(closed, B, globalPause)).toBe('paused');
    expect(reasonOf(closed, B)).toBe('paused');
    expect(reasonOf({ ...closed, pausedUntil: null }, B)).toBe('blackout');
    expect(reasonOf({ ...closed, pausedUntil: null, blackouts: [] }, B)).toBe('outside_window');
    expect(reasonOf(lock({}), B, globalPause)).toBe('paused');
    expect(reasonOf(lock({}), B)).toBe('acquired');
  });

  it('a holder refreshes during a pause and a blackout', () => {
    const closed = lock({ ...held, blackouts: [freeze], pausedUntil: NOW + 60_000 });
    expect(reasonOf(closed, A, globalPause)).toBe('refreshed');
  });

  it('neither reason is waitable: a blocking acquire is answered at once', () => {
    expect(WAITABLE.has('paused')).toBe(false);
    expect(WAITABLE.has('blackout')).toBe(false);
    const wait = { deadline: NOW + 60_000, final: false };
    const paused = decideBlockingAcquire(lock({}), B, NOW, [], wait, { globalPause });
    expect(paused.keepWaiting).toBe(false);
    expect(paused.decision.ok ? 'ok' : paused.decision.reason).toBe('paused');
    const blackout = decideBlockingAcquire(lock({ blackouts: [freeze] }), B, NOW, [], wait);
    expect(blackout.keepWaiting).toBe(false);
    expect(blackout.events.map((e) => e.detail)).toEqual(['acquire: blackout']);
  });
});
