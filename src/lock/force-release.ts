// An operator's force release as the API offers it (POST /api/dlmlocks/:id/release): free one
// named holder or every holder, with a reason for the events and the audit trail, and say so
// when the named host holds nothing (a typo must not look done). The store's one-call
// operation (PostgreSQL: migration 16) and the service's nested path apply the same rule.
import { validationError, type AppError } from '../errors.js';
import { decideForceRelease, type Decision } from './rules.js';
import type { Actor, LockState } from './types.js';

export interface OperatorRelease {
  /** free only this holder; every holder when omitted */
  hostName?: string;
  /** the operator's reason: each event's detail, and the audit entry's */
  reason: string;
}

/** The refusal when the named host holds nothing (422, nothing written). */
export function notHeldError(hostName: string, lockName: string): AppError {
  return validationError({ host: [`'${hostName}' does not hold lock '${lockName}'`] });
}

/**
 * Whether the request meets a slot held through a child lock (nested locks). Such a slot is
 * freed with the child, by the service's nested path, never on its own.
 */
export function meetsSlotViaChild(lock: LockState, hostName: string | undefined): boolean {
  return lock.holders.some((h) => h.viaLockId != null && (hostName === undefined || h.hostName === hostName));
}

/**
 * The direct holders freed (slots held through a child stay), and the audit entry's detail when
 * anyone was. `freedBelow`: the service freed the host's slot through a child just before, so
 * finding nothing more to free here is no error.
 */
export function decideOperatorRelease(
  current: LockState,
  now: number,
  actor: Actor,
  options: OperatorRelease,
  freedBelow = false,
): { decision: Decision; auditDetail?: string } {
  const { hostName, reason } = options;
  const via = current.holders.filter((h) => h.viaLockId != null);
  const direct = { ...current, holders: current.holders.filter((h) => h.viaLockId == null) };
  const freedDirect = decideForceRelease(direct, now, actor, { hostName, reason });
  const decision = {
    ...freedDirect,
    next: {
      ...freedDirect.next,
      holders: [...via, ...freedDirect.next.holders].sort((a, b) => a.fencingToken - b.fencingToken),
    },
  };
  const held = decision.ok && decision.outcome === 'released';
  if (hostName !== undefined && !held && !freedBelow) throw notHeldError(hostName, current.name);
  const freed = decision.events.filter((e) => e.type === 'force_release').map((e) => e.hostName);
  return freed.length ? { decision, auditDetail: `released ${freed.join(', ')}: ${reason}` } : { decision };
}
