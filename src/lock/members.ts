// A lock's members: the hosts that took it as a new holder within the last `members_days`,
// plus those an operator added. They size a percentage `max_holders` ("10%" of the group) and
// feed the `checkins` health gate ("90% of the group checked in within the hour"). Pure.
import type { LockState } from './types.js';

export const DEFAULT_MEMBERS_DAYS = 30;
export const MAX_MEMBERS_DAYS = 3650;
export const DAY_MS = 86_400_000;

/**
 * The number of holders a percentage allows: rounded down, at least 1, so a group of one host
 * (or a lock nobody took yet) can still be taken by someone, who then becomes its first member.
 */
export function effectiveMaxHolders(percent: number, members: number): number {
  return Math.max(1, Math.floor((percent * members) / 100));
}

/** The lock with its members counted: a percentage limit follows the count. */
export function withMembersCount<L extends LockState>(lock: L, membersCount: number): L {
  const percent = lock.maxHoldersPercent ?? null;
  return {
    ...lock,
    membersCount,
    maxHolders: percent === null ? lock.maxHolders : effectiveMaxHolders(percent, membersCount),
  };
}

/**
 * How many members a change adds: the new holders that were not members already. Only the
 * host the operation is about (`known`) can have been looked up; any other newcomer is new.
 */
export function membersAdded(
  prev: LockState,
  next: LockState,
  known: { hostId: number; isMember: boolean } | undefined,
): number {
  // by host id in a set: a percentage semaphore of a large fleet has thousands of holders
  const before = new Set(prev.holders.map((p) => p.hostId));
  let added = 0;
  for (const h of next.holders) {
    if (before.has(h.hostId)) continue;
    if (known && known.hostId === h.hostId && known.isMember) continue;
    added++;
  }
  return added;
}

/** "10%" → 10; anything but a whole 1–100 followed by % → undefined. */
export function parsePercent(raw: string): number | undefined {
  const m = /^(\d{1,3})%$/.exec(raw);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n >= 1 && n <= 100 ? n : undefined;
}

/** The rule as an operator gave it: "10%" or the number. */
export function maxHoldersRule(lock: {
  maxHolders: number;
  maxHoldersPercent: number | null;
}): number | string {
  return lock.maxHoldersPercent === null ? lock.maxHolders : `${lock.maxHoldersPercent}%`;
}

/** The earliest `last_acquired_at` that still makes a host a member at `now`. */
export function membershipCutoff(now: number, membersDays: number): number {
  return now - membersDays * DAY_MS;
}

export interface MemberCheckin {
  name: string;
  /** null: the host never checked in */
  lastCheckinAt: number | null;
}

export interface CheckinsRule {
  /** how many members must have checked in: a number of hosts or "N%" of the members */
  min: number | string;
  within_seconds: number;
}

/**
 * The `checkins` health gate's verdict: enough of the lock's members checked in recently, so the
 * fleet is not silently losing hosts while the rollout moves on. A percentage rounds up (90 % of
 * 10 hosts needs 9, of 11 needs 10): a gate errs on the side of holding the rollout.
 */
export function checkinsVerdict(
  members: readonly MemberCheckin[],
  now: number,
  rule: CheckinsRule,
): { ok: boolean; detail: string } {
  const since = now - rule.within_seconds * 1000;
  const recent = members.filter((m) => m.lastCheckinAt !== null && m.lastCheckinAt >= since).length;
  const percent = typeof rule.min === 'string' ? parsePercent(rule.min) : undefined;
  if (typeof rule.min === 'string' && percent === undefined) {
    return { ok: false, detail: `invalid min "${rule.min}": give a number of hosts or "N%"` };
  }
  const need = percent === undefined ? Number(rule.min) : Math.ceil((percent * members.length) / 100);
  const share = percent === undefined ? '' : ` (${percent} %)`;
  return {
    ok: recent >= need,
    detail: `${recent} of ${members.length} members checked in within ${rule.within_seconds} s, need ${need}${share}`,
  };
}
