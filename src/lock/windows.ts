// Maintenance windows: a lock may only be newly acquired inside one of its windows. A window
// is a rule naming local days (a set of weekdays, the n-th weekday of a month, or days of the
// month), a local start time, a duration and an IANA time zone, so "the second Tuesday, 02:00
// for 3 hours in Europe/Berlin" stays right across daylight-saving changes (luxon does the zone
// arithmetic; no hand-written offsets).
import { DateTime, IANAZone } from 'luxon';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

interface WindowTime {
  /** local wall-clock time, HH:MM (24 h) */
  start: string;
  duration_minutes: number;
  time_zone: string;
}

/** 1–4: the first to fourth such weekday of the month; -1: the last one */
export type NthOfMonth = 1 | 2 | 3 | 4 | -1;

/** Exactly one day rule: weekly `days`, monthly `nth_weekday`, or monthly `days_of_month`. */
export type MaintenanceWindow = WindowTime &
  ({ days: Weekday[] } | { nth_weekday: { nth: NthOfMonth; day: Weekday } } | { days_of_month: number[] });

const DAY_RULES = ['days', 'nth_weekday', 'days_of_month'] as const;
const TIME_KEYS = ['start', 'duration_minutes', 'time_zone'] as const;

export const MAX_WINDOWS = 50;
const MAX_DURATION_MINUTES = 7 * 24 * 60;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isWeekday = (d: unknown): d is string =>
  typeof d === 'string' && (WEEKDAYS as readonly string[]).includes(d.toLowerCase());

type DayRule =
  { days: Weekday[] } | { nth_weekday: { nth: NthOfMonth; day: Weekday } } | { days_of_month: number[] };

function parseDayRule(
  w: Record<string, unknown>,
  rule: (typeof DAY_RULES)[number],
  at: string,
  problems: string[],
): DayRule | undefined {
  if (rule === 'days') {
    const days = w.days;
    if (!Array.isArray(days) || days.length === 0 || !days.every(isWeekday)) {
      problems.push(`${at} days must be a non-empty list of ${WEEKDAYS.join(', ')}`);
      return undefined;
    }
    const set = new Set(days.map((d) => d.toLowerCase()));
    return { days: WEEKDAYS.filter((d) => set.has(d)) };
  }
  if (rule === 'nth_weekday') {
    const nth = w.nth_weekday;
    const ok =
      isObject(nth) &&
      Object.keys(nth).every((k) => k === 'nth' || k === 'day') &&
      [1, 2, 3, 4, -1].includes(nth.nth as number) &&
      isWeekday(nth.day);
    if (!ok) {
      problems.push(
        `${at} nth_weekday must be {"nth": 1 to 4 or -1 for the last, "day": one of ${WEEKDAYS.join(', ')}}`,
      );
      return undefined;
    }
    return { nth_weekday: { nth: nth.nth as NthOfMonth, day: (nth.day as string).toLowerCase() as Weekday } };
  }
  const days = w.days_of_month;
  const ok =
    Array.isArray(days) &&
    days.length > 0 &&
    days.length <= 31 &&
    days.every((d) => Number.isInteger(d) && (d as number) >= 1 && (d as number) <= 31);
  if (!ok) {
    problems.push(`${at} days_of_month must be a non-empty list of days 1 to 31`);
    return undefined;
  }
  return { days_of_month: [...new Set(days as number[])].sort((a, b) => a - b) };
}

function parseWindowTime(w: Record<string, unknown>, at: string, problems: string[]): WindowTime | undefined {
  const { start, duration_minutes: duration, time_zone: zone } = w;
  const validStart = typeof start === 'string' && /^([01]\d|2[0-3]):[0-5]\d$/.test(start);
  if (!validStart) problems.push(`${at} start must be a time HH:MM (00:00 to 23:59)`);
  const validDuration =
    typeof duration === 'number' &&
    Number.isInteger(duration) &&
    duration >= 1 &&
    duration <= MAX_DURATION_MINUTES;
  if (!validDuration)
    problems.push(`${at} duration_minutes must be an integer from 1 to ${MAX_DURATION_MINUTES}`);
  const validZone = typeof zone === 'string' && zone.length <= 64 && IANAZone.isValidZone(zone);
  if (!validZone) problems.push(`${at} time_zone must be an IANA time zone such as Europe/Berlin or UTC`);
  if (!validStart || !validDuration || !validZone) return undefined;
  return { start, duration_minutes: duration, time_zone: zone };
}

/** Whether a window's day rule names this local day. */
function isWindowDay(w: MaintenanceWindow, day: DateTime): boolean {
  const weekday = WEEKDAYS[day.weekday - 1]!;
  if ('days' in w) return w.days.includes(weekday);
  if ('days_of_month' in w) return w.days_of_month.includes(day.day);
  const { nth, day: wanted } = w.nth_weekday;
  if (weekday !== wanted) return false;
  // the n-th such weekday falls on days 7n-6 … 7n; the last one is within 7 days of the month's end
  return nth === -1 ? day.day + 7 > day.daysInMonth! : Math.ceil(day.day / 7) === nth;
}

/** How far ahead the next opening may lie: a week for weekly rules, two months for monthly ones
 * (the 31st skips February and the month after a 30-day one). */
const lookAheadDays = (w: MaintenanceWindow) => ('days' in w ? 8 : 63);

/** Checks a `windows` value from a request; returns problems in Rails' message style. */
export function parseWindows(raw: unknown): { windows?: MaintenanceWindow[]; problems: string[] } {
  if (raw === null) return { windows: [], problems: [] };
  if (!Array.isArray(raw)) return { problems: ['must be an array of windows or null'] };
  if (raw.length > MAX_WINDOWS) return { problems: [`must have at most ${MAX_WINDOWS} windows`] };
  const problems: string[] = [];
  const windows: MaintenanceWindow[] = [];
  raw.forEach((w, i) => {
    const at = `window ${i + 1}`;
    if (!isObject(w)) return problems.push(`${at} must be an object`);
    const unknown = Object.keys(w).filter(
      (k) => !(DAY_RULES as readonly string[]).includes(k) && !(TIME_KEYS as readonly string[]).includes(k),
    );
    if (unknown.length) problems.push(`${at} has unknown keys: ${unknown.join(', ')}`);
    const rules = DAY_RULES.filter((k) => w[k] !== undefined);
    const dayRule = rules.length === 1 ? parseDayRule(w, rules[0]!, at, problems) : undefined;
    if (rules.length !== 1) problems.push(`${at} needs exactly one of ${DAY_RULES.join(', ')}`);
    const time = parseWindowTime(w, at, problems);
    if (dayRule && time) windows.push({ ...dayRule, ...time } as MaintenanceWindow);
  });
  return problems.length ? { problems } : { windows, problems };
}

/** Start instants (ms) of a window's openings on local days from `fromDay` for `days` days. */
function openings(w: MaintenanceWindow, around: number, daysBack: number, daysAhead: number): number[] {
  const [hour, minute] = w.start.split(':').map(Number) as [number, number];
  const today = DateTime.fromMillis(around, { zone: w.time_zone }).startOf('day');
  const result: number[] = [];
  for (let offset = -daysBack; offset <= daysAhead; offset++) {
    const day = today.plus({ days: offset });
    if (!isWindowDay(w, day)) continue;
    // In a spring-forward gap luxon moves the time forward, which is what an operator expects.
    result.push(day.set({ hour, minute }).toMillis());
  }
  return result;
}

const lookBackDays = (w: MaintenanceWindow) => Math.ceil(w.duration_minutes / 1440) + 1;

export function isInsideWindow(windows: readonly MaintenanceWindow[], now: number): boolean {
  return windows.some((w) =>
    openings(w, now, lookBackDays(w), 0).some(
      (start) => now >= start && now < start + w.duration_minutes * 60_000,
    ),
  );
}

/** The next moment a window opens after `now` (within a week, or two months for monthly rules). */
export function nextWindowOpening(windows: readonly MaintenanceWindow[], now: number): number | undefined {
  let best: number | undefined;
  for (const w of windows) {
    for (const start of openings(w, now, 0, lookAheadDays(w))) {
      if (start > now && (best === undefined || start < best)) best = start;
    }
  }
  return best;
}

/**
 * When the open stretch covering `now` ends: the latest end of the windows open at `now`,
 * followed through windows that overlap or touch it. Undefined when no window is open now.
 */
export function windowCloseAt(windows: readonly MaintenanceWindow[], now: number): number | undefined {
  let t = now;
  // each step moves t to the end of an open window; windows are at most a week long
  for (let step = 0; step < 100; step++) {
    let end: number | undefined;
    for (const w of windows) {
      for (const start of openings(w, t, lookBackDays(w), 0)) {
        const stop = start + w.duration_minutes * 60_000;
        if (t >= start && t < stop && (end === undefined || stop > end)) end = stop;
      }
    }
    if (end === undefined) return t === now ? undefined : t;
    t = end;
  }
  return t;
}
