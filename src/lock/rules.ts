// The lock rules of foreman_dlm, extended to counting semaphores, fencing tokens and leases.
// Pure: a state and a request in, the next state, the events and the answer out.
// The store runs these inside one transaction holding the lock's row.
import type { LockReason } from 'keyholder-protocol';
import { calendarRefusal, type Calendar, type Pause } from './calendar.js';
import { checkGates, NO_VERDICTS, type GateVerdicts } from './gates.js';
import { eventFor, type Actor, type EventDraft, type Holder, type HostRef, type LockState } from './types.js';

// the reasons travel to clients in X-Lock-Reason; the protocol lists them for both sides
export type RejectReason = LockReason;

/** Reasons that may pass by themselves, so a blocking acquire keeps waiting for them. */
export const WAITABLE: ReadonlySet<RuleReason> = new Set(['held', 'full', 'queued', 'gate_failed']);

/**
 * Inside the rules and the service only: the lock would admit the host but has gates without a
 * verdict for their current definitions; the service checks them (I/O) and asks again. Never
 * answered to a client and never a `fail` event.
 */
export type RuleReason = RejectReason | 'gates_needed';

export type Decision =
  | {
      ok: true;
      outcome: 'acquired' | 'refreshed' | 'released' | 'not_held';
      next: LockState;
      events: EventDraft[];
    }
  | {
      ok: false;
      reason: RuleReason;
      /** nested locks: the ancestor that refused (X-Lock-Reason `reason@level`); unset: this lock */
      level?: string;
      /** with `level`: that ancestor's calendar, so its refusal says when the level opens */
      levelCalendar?: LevelCalendar;
      next: LockState;
      events: EventDraft[];
    };

/**
 * What a refusal by an ancestor carries of it (nested locks): a `paused`, `blackout` or
 * `outside_window` there says when that level admits again, exactly as one by the lock itself.
 */
export interface LevelCalendar extends Calendar {
  name: string;
  pauseReason: string | null;
}

/** An ancestor's calendar for its refusal (a lock state is one; only these fields travel). */
export function levelCalendarOf(level: LevelCalendar): LevelCalendar {
  const { name, windows, blackouts, pausedUntil, pauseReason } = level;
  return { name, windows, blackouts, pausedUntil, pauseReason };
}

/** Drops holders whose lease ran out, with an `expire` event each. */
export function expireLeases(lock: LockState, now: number): { lock: LockState; events: EventDraft[] } {
  const expired = lock.holders.filter((h) => h.expiresAt !== null && h.expiresAt <= now);
  if (expired.length === 0) return { lock, events: [] };
  return {
    lock: { ...lock, holders: lock.holders.filter((h) => !expired.includes(h)), updatedAt: now },
    events: expired.map((h) => eventFor('expire', { host: { id: h.hostId, name: h.hostName } })),
  };
}

/** A refusal leaves the lock as it is (but for expired leases) and records a `fail` event. */
function refusal(lock: LockState, events: EventDraft[], actor: Actor, op: 'acquire' | 'release') {
  return (reason: RejectReason): Decision => ({
    ok: false,
    reason,
    next: lock,
    events: [...events, eventFor('fail', actor, `${op}: ${reason}`)],
  });
}

/**
 * What admission depends on besides the lock and the host, gathered by the service before the
 * transaction: the global pause (read in the same transaction) and the health gates' verdicts.
 */
export interface Admission {
  globalPause?: Pause | null;
  /** this lock's gate verdicts */
  gateVerdicts?: GateVerdicts;
  /** nested locks: any level's verdicts by lock id (used when `gateVerdicts` is not given) */
  gateVerdictsFor?: (lockId: number) => GateVerdicts | undefined;
  /**
   * A blocking acquire asks: a closed calendar (pause, blackout, outside the windows) refuses
   * it before the lock being held, full or queued does (see `decideAcquire`).
   */
  blocking?: boolean;
}

/**
 * `queuedAhead`: hosts waiting (blocking acquire) that came before this request; they are
 * served first, so a free place goes to this request only when it is beyond all of them.
 */
export function decideAcquire(
  current: LockState,
  host: HostRef,
  now: number,
  actor: Actor = { host },
  queuedAhead = 0,
  admission: Admission = {},
): Decision {
  const { globalPause = null } = admission;
  const gateVerdicts = admission.gateVerdicts ?? admission.gateVerdictsFor?.(current.id) ?? NO_VERDICTS;
  const { lock, events } = expireLeases(current, now);
  const reject = refusal(lock, events, actor, 'acquire');
  if (!lock.enabled) return reject('disabled');
  if (!host.canAcquireLocks) return reject('host_barred');

  const mine = lock.holders.find((h) => h.hostId === host.id);
  if (mine) {
    // Re-acquire by the holder is idempotent (foreman_dlm) and refreshes the lease.
    const refreshed: Holder = { ...mine, refreshedAt: now, expiresAt: leaseEnd(lock, now) };
    return {
      ok: true,
      outcome: 'refreshed',
      next: { ...lock, updatedAt: now, holders: lock.holders.map((h) => (h === mine ? refreshed : h)) },
      events,
    };
  }
  // Pauses, blackouts and windows gate new holders only: a holder refreshing across a reboot
  // is never turned away. None of them is waitable: a blocking acquire is answered at once,
  // also when the pause starts while it waits (SPEC 3: a paused lock refuses new holders with
  // `paused` and X-Lock-Next-Window). An operator who pauses a patch night wants the hosts
  // lined up for it to go away now and be told when to come back, not to sit on open requests
  // and rush in the moment the pause is lifted; and a request that comes during the pause is
  // answered at once anyway, so one that came before it gets the same answer. A blocking
  // acquire therefore hears of the closed calendar before of a holder it could wait for; a
  // plain acquire keeps foreman_dlm's order (held first, then the calendar).
  const closedNow = () => calendarRefusal(lock, globalPause, now);
  const closedFirst = admission.blocking ? closedNow() : undefined;
  if (closedFirst) return reject(closedFirst);
  // Lowering max_holders below the holder count keeps the holders; nobody new gets in.
  if (lock.holders.length >= lock.maxHolders) return reject(lock.maxHolders === 1 ? 'held' : 'full');
  if (queuedAhead >= lock.maxHolders - lock.holders.length) return reject('queued');
  const closed = admission.blocking ? undefined : closedNow();
  if (closed) return reject(closed);
  // Gates last: a lock that would refuse anyway causes no upstream query.
  if (lock.gates?.length) {
    const gates = checkGates(lock.gates, gateVerdicts);
    if (gates.kind === 'needed') return { ok: false, reason: 'gates_needed', next: lock, events };
    if (gates.kind === 'failed') return reject('gate_failed');
  }

  return {
    ok: true,
    outcome: 'acquired',
    next: admitHolder(lock, host, now),
    events: [...events, eventFor('acquire', actor)],
  };
}

/** When a holder admitted or refreshed at `now` loses the lock by itself (null: never). */
export function leaseEnd(lock: LockState, now: number): number | null {
  return lock.leaseSeconds === null ? null : now + lock.leaseSeconds * 1000;
}

/**
 * The one place a new holder comes in: it gets the next fencing token, and the lock's counter
 * moves to it (SPEC section 8: tokens only grow). Acquire and an operator's update share it.
 */
export function admitHolder(lock: LockState, host: { id: number; name: string }, now: number): LockState {
  const token = lock.fencingCounter + 1;
  const holder: Holder = {
    hostId: host.id,
    hostName: host.name,
    acquiredAt: now,
    refreshedAt: now,
    fencingToken: token,
    expiresAt: leaseEnd(lock, now),
  };
  return { ...lock, fencingCounter: token, updatedAt: now, holders: [...lock.holders, holder] };
}

export function decideRelease(
  current: LockState,
  host: HostRef,
  now: number,
  actor: Actor = { host },
): Decision {
  const { lock, events } = expireLeases(current, now);
  const reject = refusal(lock, events, actor, 'release');
  // foreman_dlm only changes enabled locks: releasing a disabled one fails even when free.
  if (!lock.enabled) return reject('disabled');
  const mine = lock.holders.find((h) => h.hostId === host.id);
  if (mine) {
    return {
      ok: true,
      outcome: 'released',
      next: { ...lock, updatedAt: now, holders: lock.holders.filter((h) => h !== mine) },
      events: [...events, eventFor('release', actor)],
    };
  }
  // A free lock releases as a no-op (200); another host's lock cannot be released (412).
  if (lock.holders.length === 0) return { ok: true, outcome: 'not_held', next: lock, events };
  return reject('held');
}

export interface ForceReleaseOptions {
  /** free only this holder; every holder when omitted */
  hostName?: string;
  /** the operator's reason, kept as the events' detail */
  reason?: string;
}

/**
 * An operator frees a lock (or one holder of it) regardless of who holds it. Each freed holder
 * gets a `force_release` event whose actor is the operator and whose detail is the reason.
 */
export function decideForceRelease(
  current: LockState,
  now: number,
  actor: Actor,
  options: ForceReleaseOptions = {},
): Decision {
  const { lock, events } = expireLeases(current, now);
  const { hostName, reason } = options;
  const freed = lock.holders.filter((h) => hostName === undefined || h.hostName === hostName);
  if (freed.length === 0) return { ok: true, outcome: 'not_held', next: lock, events };
  return {
    ok: true,
    outcome: 'released',
    next: { ...lock, updatedAt: now, holders: lock.holders.filter((h) => !freed.includes(h)) },
    events: [
      ...events,
      // The operator is the actor; the freed holder is the host the event is about.
      ...freed.map((h) => ({
        ...eventFor('force_release', actor, reason ?? null),
        hostId: h.hostId,
        hostName: h.hostName,
      })),
    ],
  };
}

/** The expiry job's rule: holders past their lease go; nothing else changes. */
export function decideExpiry(
  current: LockState,
  now: number,
): { changed: boolean; next: LockState; events: EventDraft[] } {
  const { lock, events } = expireLeases(current, now);
  return { changed: events.length > 0, next: lock, events };
}

export function isStale(lock: LockState, now: number, staleAfterMs: number): boolean {
  return lock.holders.some((h) => now - h.refreshedAt > staleAfterMs);
}
