// Maintenance windows: a lock may only be newly acquired inside one of its windows. A window
// is a set of weekdays, a local start time, a duration and an IANA time zone, so "Sundays
// 02:00 for 3 hours in Europe/Berlin" stays right across daylight-saving changes (luxon does
// the zone arithmetic; no hand-written offsets).
import { DateTime, IANAZone } from 'luxon';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface MaintenanceWindow {
  days: Weekday[];
  /** local wall-clock time, HH:MM (24 h) */
  start: string;
  duration_minutes: number;
  time_zone: string;
}

export const MAX_WINDOWS = 50;
const MAX_DURATION_MINUTES = 7 * 24 * 60;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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
      (k) => !['days', 'start', 'duration_minutes', 'time_zone'].includes(k),
    );
    if (unknown.length) problems.push(`${at} has unknown keys: ${unknown.join(', ')}`);
    const days = w.days;
    const validDays =
      Array.isArray(days) &&
      days.length > 0 &&
      days.every((d) => typeof d === 'string' && (WEEKDAYS as readonly string[]).includes(d.toLowerCase()));
    if (!validDays) problems.push(`${at} days must be a non-empty list of ${WEEKDAYS.join(', ')}`);
    const start = w.start;
    const validStart = typeof start === 'string' && /^([01]\d|2[0-3]):[0-5]\d$/.test(start);
    if (!validStart) problems.push(`${at} start must be a time HH:MM (00:00 to 23:59)`);
    const duration = w.duration_minutes;
    const validDuration =
      typeof duration === 'number' &&
      Number.isInteger(duration) &&
      duration >= 1 &&
      duration <= MAX_DURATION_MINUTES;
    if (!validDuration)
      problems.push(`${at} duration_minutes must be an integer from 1 to ${MAX_DURATION_MINUTES}`);
    const zone = w.time_zone;
    const validZone = typeof zone === 'string' && zone.length <= 64 && IANAZone.isValidZone(zone);
    if (!validZone) problems.push(`${at} time_zone must be an IANA time zone such as Europe/Berlin or UTC`);
    if (validDays && validStart && validDuration && validZone) {
      const set = new Set((days as string[]).map((d) => d.toLowerCase() as Weekday));
      windows.push({
        days: WEEKDAYS.filter((d) => set.has(d)),
        start: start as string,
        duration_minutes: duration as number,
        time_zone: zone as string,
      });
    }
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
    if (!w.days.includes(WEEKDAYS[day.weekday - 1]!)) continue;
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

/** The next moment a window opens after `now` (within the coming eight days), if any. */
export function nextWindowOpening(windows: readonly MaintenanceWindow[], now: number): number | undefined {
  let best: number | undefined;
  for (const w of windows) {
    for (const start of openings(w, now, 0, 8)) {
      if (start > now && (best === undefined || start < best)) best = start;
    }
  }
  return best;
}
