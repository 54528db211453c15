// Blackouts and pauses: the calendar rules beside the maintenance windows (windows.ts). A
// blackout is a range of whole local days in a time zone (a holiday, a change freeze); a pause
// holds one lock (`paused_until` on it) or every lock (the global pause, one database row) until
// an instant. Like windows they gate NEW holders only: a holder refreshing is never refused.
// luxon does the zone arithmetic, so a day is a local day across daylight-saving changes.
import { DateTime, IANAZone } from 'luxon';
import type { CalendarReason } from 'keyholder-protocol';
import { isInsideWindow, nextWindowOpening, windowCloseAt, type MaintenanceWindow } from './windows.js';

export interface Blackout {
  /** first local day, YYYY-MM-DD, inclusive */
  from: string;
  /** last local day, YYYY-MM-DD, inclusive */
  to: string;
  time_zone: string;
  reason?: string;
}

/** A pause until an instant (ms); the lock's own or the global one. */
export interface Pause {
  until: number;
  reason: string | null;
}

/** What of a lock the calendar rules read. */
export interface Calendar {
  windows: readonly MaintenanceWindow[];
  blackouts: readonly Blackout[];
  pausedUntil: number | null;
}

export const MAX_BLACKOUTS = 100;
export const MAX_PAUSE_REASON_LENGTH = 200;
/** How far ahead the next opening is looked for; beyond it, nothing opens (null). */
export const LOOKAHEAD_DAYS = 400;

const BLACKOUT_KEYS = ['from', 'to', 'time_zone', 'reason'];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isRealDate(value: unknown): value is string {
  return typeof value === 'string' && DATE.test(value) && DateTime.fromISO(value, { zone: 'utc' }).isValid;
}

/** Checks a `blackouts` value from a request; problems in Rails' message style. */
export function parseBlackouts(raw: unknown): { blackouts?: Blackout[]; problems: string[] } {
  if (raw === null) return { blackouts: [], problems: [] };
  if (!Array.isArray(raw)) return { problems: ['must be an array of blackouts or null'] };
  if (raw.length > MAX_BLACKOUTS) return { problems: [`must have at most ${MAX_BLACKOUTS} blackouts`] };
  const problems: string[] = [];
  const blackouts: Blackout[] = [];
  raw.forEach((b, i) => {
    const at = `blackout ${i + 1}`;
    if (!isObject(b)) return problems.push(`${at} must be an object`);
    const unknown = Object.keys(b).filter((k) => !BLACKOUT_KEYS.includes(k));
    if (unknown.length) problems.push(`${at} has unknown keys: ${unknown.join(', ')}`);
    const { from, to, time_zone: zone, reason } = b;
    const before = problems.length;
    if (!isRealDate(from)) problems.push(`${at} from must be a date YYYY-MM-DD`);
    if (!isRealDate(to)) problems.push(`${at} to must be a date YYYY-MM-DD`);
    if (isRealDate(from) && isRealDate(to) && from > to) problems.push(`${at} from must not be after to`);
    if (!(typeof zone === 'string' && zone.length <= 64 && IANAZone.isValidZone(zone)))
      problems.push(`${at} time_zone must be an IANA time zone such as Europe/Berlin or UTC`);
    if (reason !== undefined && !(typeof reason === 'string' && reason.length <= MAX_PAUSE_REASON_LENGTH))
      problems.push(`${at} reason must be a text of at most ${MAX_PAUSE_REASON_LENGTH} characters`);
    if (problems.length > before) return;
    const blackout: Blackout = { from: from as string, to: to as string, time_zone: zone as string };
    if (reason !== undefined) blackout.reason = reason as string;
    blackouts.push(blackout);
  });
  return problems.length ? { problems } : { blackouts, problems };
}

/**
 * A timestamp as a request may give it: ISO 8601 (without an offset it is UTC) or the
 * `YYYY-MM-DD HH:MM:SS UTC` keyholder renders. Undefined when it is neither.
 */
export function parseInstant(raw: string): number | undefined {
  const rendered = DateTime.fromFormat(raw, "yyyy-MM-dd HH:mm:ss 'UTC'", { zone: 'utc' });
  const parsed = rendered.isValid ? rendered : DateTime.fromISO(raw, { zone: 'utc' });
  if (!parsed.isValid || parsed.year < 1970 || parsed.year > 9999) return undefined;
  return parsed.toMillis();
}

/** The instants [start, end) a blackout covers: from the start of `from` to the end of `to`. */
export function blackoutSpan(b: Blackout): { start: number; end: number } {
  const first = DateTime.fromISO(b.from, { zone: b.time_zone }).startOf('day');
  const afterLast = DateTime.fromISO(b.to, { zone: b.time_zone }).plus({ days: 1 }).startOf('day');
  return { start: first.toMillis(), end: afterLast.toMillis() };
}

/** The end of the blackout covering `now` (the latest of overlapping ones), or undefined. */
function blackoutEndAt(blackouts: readonly Blackout[], now: number): number | undefined {
  let end: number | undefined;
  for (const b of blackouts) {
    const span = blackoutSpan(b);
    if (now >= span.start && now < span.end && (end === undefined || span.end > end)) end = span.end;
  }
  return end;
}

/** Until when a pause holds at `now`: the later of the global pause and the lock's own. */
function pausedUntilAt(lock: Calendar, globalPause: Pause | null, now: number): number | undefined {
  const untils = [globalPause?.until, lock.pausedUntil].filter(
    (u): u is number => u !== null && u !== undefined && u > now,
  );
  return untils.length ? Math.max(...untils) : undefined;
}

/**
 * Why the calendar refuses a new holder at `now`, in the order the rules check: paused (the
 * global pause, then the lock's), blackout, outside_window. Undefined: the calendar admits.
 */
export function calendarRefusal(
  lock: Calendar,
  globalPause: Pause | null,
  now: number,
): CalendarReason | undefined {
  if (globalPause && globalPause.until > now) return 'paused';
  if (lock.pausedUntil !== null && lock.pausedUntil > now) return 'paused';
  if (lock.blackouts.length > 0 && blackoutEndAt(lock.blackouts, now) !== undefined) return 'blackout';
  if (lock.windows.length > 0 && !isInsideWindow(lock.windows, now)) return 'outside_window';
  return undefined;
}

/**
 * The first moment from `from` on at which the calendar admits a new holder: outside every
 * pause and blackout, and inside a window when the lock has windows. Undefined when nothing
 * opens within LOOKAHEAD_DAYS. Each step jumps to the end of what blocks, so it is bounded.
 */
export function nextAdmission(lock: Calendar, globalPause: Pause | null, from: number): number | undefined {
  const limit = from + LOOKAHEAD_DAYS * 86_400_000;
  let t = from;
  // every step moves t forward past one pause, blackout or closed stretch; a window reopens at
  // most a few times a day, so this bound is never reached before the limit is
  for (let step = 0; step < 10_000 && t <= limit; step++) {
    const paused = pausedUntilAt(lock, globalPause, t);
    if (paused !== undefined) {
      t = paused;
      continue;
    }
    const blackoutEnd = blackoutEndAt(lock.blackouts, t);
    if (blackoutEnd !== undefined) {
      t = blackoutEnd;
      continue;
    }
    if (lock.windows.length === 0 || isInsideWindow(lock.windows, t)) return t;
    const opening = nextWindowOpening(lock.windows, t);
    if (opening === undefined) return undefined;
    t = opening;
  }
  return undefined;
}

/**
 * The next moment after `now` at which the clock alone makes the calendar refuse: a blackout
 * day begins, or the open windows close. A pause begins only when an operator sets it, which
 * wakes the waiters by itself. Undefined when nothing on the calendar is ahead. A blocking
 * acquire sleeps no longer than this, so its answer comes when the calendar turns, as it does
 * for a pause or blackout an operator sets.
 */
export function nextClosingAt(lock: Calendar, now: number): number | undefined {
  let next = lock.windows.length > 0 ? windowCloseAt(lock.windows, now) : undefined;
  for (const b of lock.blackouts) {
    const { start } = blackoutSpan(b);
    if (start > now && (next === undefined || start < next)) next = start;
  }
  return next;
}

/** The first closing by the clock along a chain of levels (a lock and its ancestors). */
export function chainClosingAt(levels: readonly Calendar[], now: number): number | undefined {
  let first: number | undefined;
  for (const level of levels) {
    const at = nextClosingAt(level, now);
    if (at !== undefined && (first === undefined || at < first)) first = at;
  }
  return first;
}

/**
 * The lock JSON's `next_window_at`: when refused now, the moment a new holder may come in;
 * when admitted now, the next window opening the calendar lets through (null without windows).
 */
export function nextWindowAt(lock: Calendar, globalPause: Pause | null, now: number): number | undefined {
  if (calendarRefusal(lock, globalPause, now) !== undefined) return nextAdmission(lock, globalPause, now);
  if (lock.windows.length === 0) return undefined;
  const opening = nextWindowOpening(lock.windows, now);
  return opening === undefined ? undefined : nextAdmission(lock, globalPause, opening);
}
