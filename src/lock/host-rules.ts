// The two requests a host makes of a lock without waiting — acquire (which refreshes when it
// holds the lock already) and release — by name, so a store can run the rule it is asked for
// (and PostgreSQL its server-side copy of it, migration 6; test/integration/rule-parity.test.ts
// holds the two to the same table of cases).
import { queuePosition, type LiveQueue } from './queue.js';
import {
  decideAcquire,
  decideRelease,
  type Admission,
  type Decision,
  type LevelCalendar,
  type RuleReason,
} from './rules.js';
import type { HostRef, LockState } from './types.js';

export type HostRule = 'acquire' | 'release';

export type Verdict =
  | { ok: true; outcome: 'acquired' | 'refreshed' | 'released' | 'not_held' }
  | { ok: false; reason: RuleReason; level?: string; levelCalendar?: LevelCalendar };

export function decideHostRule(
  rule: HostRule,
  lock: LockState,
  host: HostRef,
  now: number,
  waiters: LiveQueue,
  admission: Admission = {},
): Decision {
  // A request without a queue entry of its own comes after every live waiter.
  if (rule === 'acquire') {
    return decideAcquire(lock, host, now, { host }, queuePosition(waiters, undefined), admission);
  }
  return decideRelease(lock, host, now);
}

export function verdictOf(decision: Decision): Verdict {
  if (decision.ok) return { ok: true, outcome: decision.outcome };
  if (decision.level === undefined) return { ok: false, reason: decision.reason };
  const { reason, level, levelCalendar } = decision;
  return levelCalendar === undefined
    ? { ok: false, reason, level }
    : { ok: false, reason, level, levelCalendar };
}
