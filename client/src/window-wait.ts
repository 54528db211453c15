// A refusal by the lock's calendar (an operator's pause, a blackout, outside the maintenance
// windows, of the lock or of an ancestor) says when the lock opens again (X-Lock-Next-Window).
// Asking again before then is pointless: a fleet of hosts polling a paused lock on the backoff
// would keep the server busy with refusals for the whole pause. These pure rules say how long to
// sit quietly instead, and what to say when the opening comes too late.
import { isCalendarReason } from 'keyholder-protocol';

/**
 * The largest random spread added to the opening. When a pause ends, every host it refused
 * comes back: a lock's pause answers all its queued waiters at once, so thousands of hosts hold
 * the same opening to the second. Each of them connects anew (a TLS handshake, the costliest
 * part of a host request: a few hundred to ~1,400 per second on a small server), so 20,000
 * hosts spread over 30 s arrive at ~670/s, what such a server takes, instead of all in one
 * second. 30 s is also the longest the backoff of `keyholder lock --wait` would have made a
 * host wait between two attempts, so no host waits longer after the opening than before.
 */
export const MAX_WINDOW_SPREAD_MS = 30_000;

/**
 * The longest one sleep lasts before the client asks again. An operator may lift a pause or
 * delete a blackout early, and the opening the server named then comes sooner; 10 minutes
 * bounds how late a host notices, at one request per host per 10 minutes (20,000 hosts: ~33
 * refusals/s instead of ~500 on the backoff). It also keeps below the 24.8 days a Node timer
 * can count (a longer delay would fire at once).
 */
export const MAX_WINDOW_SLEEP_MS = 600_000;

/**
 * X-Lock-Next-Window is rendered to the second, rounded down (`2026-11-29 01:00:00 UTC`), as is
 * the server's Date header: waking a second later guarantees the opening has really passed.
 */
const ROUNDING_MS = 1000;

export interface CalendarRefusal {
  /** paused, blackout or outside_window */
  reason: string;
  /** the ancestor whose calendar refused (`paused@dc-berlin`); undefined: the lock itself */
  level: string | undefined;
  /** when the lock admits new holders again, by the server's clock (ms since the epoch) */
  opensAt: number;
  /** the server's clock when it answered (its Date header), if it sent one */
  serverNow: number | undefined;
}

/** `paused@dc-berlin` → reason and level; a lock name may itself contain `@`, a reason never does. */
export function splitReason(reason: string): { base: string; level: string | undefined } {
  const at = reason.indexOf('@');
  return at < 0
    ? { base: reason, level: undefined }
    : { base: reason.slice(0, at), level: reason.slice(at + 1) };
}

/** The server's time stamps: foreman_dlm's `YYYY-MM-DD HH:MM:SS UTC`, or ISO 8601. */
export function parseServerTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const iso = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(text)
    ? `${text.slice(0, 10)}T${text.slice(11, 19)}Z`
    : text;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * A 412 that lasts until a known moment; undefined for every other refusal, and for a calendar
 * refusal without X-Lock-Next-Window (Foreman, or no opening within the server's look-ahead),
 * which keeps the ordinary backoff.
 */
export function calendarRefusal(
  reason: string | undefined,
  nextWindow: string | undefined,
  serverDate: string | undefined,
): CalendarRefusal | undefined {
  if (reason === undefined) return undefined;
  const { base, level } = splitReason(reason);
  if (!isCalendarReason(base)) return undefined;
  const opensAt = parseServerTime(nextWindow);
  if (opensAt === undefined) return undefined;
  return { reason: base, level, opensAt, serverNow: parseServerTime(serverDate) };
}

/**
 * How long until the lock opens, measured on the server's clock when it said (so a client
 * whose clock is off still wakes after the opening), plus the rounding; never negative.
 */
export function untilOpeningMs(refusal: CalendarRefusal, clientNow: number): number {
  const now = refusal.serverNow ?? clientNow;
  return Math.max(0, refusal.opensAt - now) + ROUNDING_MS;
}

/** `2026-11-29 02:00:00 +01:00 (2026-11-29T01:00:00.000Z)`: the host's local time and ISO. */
export function describeMoment(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const local =
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ` +
    `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${local} (${d.toISOString()})`;
}

const WHAT: Record<string, string> = {
  paused: 'paused by an operator',
  blackout: 'in a blackout',
  outside_window: 'outside its maintenance windows',
};

/** `lock 'web' is paused by an operator` / `lock 'dc-berlin' above lock 'web' is in a blackout` */
export function describeCalendar(lock: string, refusal: CalendarRefusal): string {
  const what = WHAT[refusal.reason] ?? refusal.reason;
  return refusal.level === undefined
    ? `lock '${lock}' is ${what}`
    : `lock '${refusal.level}' above lock '${lock}' is ${what}`;
}

/** The give-up line when the lock opens only after the command's deadline. */
export function tooLateLine(lock: string, refusal: CalendarRefusal): string {
  const label = refusal.level === undefined ? refusal.reason : `${refusal.reason}@${refusal.level}`;
  return (
    `cannot acquire lock '${lock}': ${describeCalendar(lock, refusal)} (${label}); ` +
    `it opens ${describeMoment(refusal.opensAt)}, after the time given to wait; not waiting`
  );
}
