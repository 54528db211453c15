// An operator's update of a lock (PUT /api/dlmlocks/:id): settings, enable/disable, and
// foreman_dlm's `host_id`, which frees the lock (null) or makes one host its sole holder.
// Pure; the new holder comes in through `admitHolder`, the same rule an acquire uses.
import { validationError } from '../errors.js';
import { withMembersCount } from './members.js';
import { admitHolder, decideForceRelease } from './rules.js';
import { eventFor, type Actor, type EventDraft, type HostRef, type LockState } from './types.js';
import type { Blackout } from './calendar.js';
import type { GateDefinition } from './gates.js';
import type { MaintenanceWindow } from './windows.js';

/** What an update may set; `hostId: null` frees the lock, a number makes that host hold it. */
export interface LockChanges {
  name?: string;
  type?: string;
  enabled?: boolean;
  hostId?: number | null;
  maxHolders?: number;
  /** max_holders as a percentage of the members ("10%"); a plain `maxHolders` clears it */
  maxHoldersPercent?: number;
  membersDays?: number;
  leaseSeconds?: number | null;
  windows?: MaintenanceWindow[];
  blackouts?: Blackout[];
  /** null lifts the lock's pause (and drops its reason) */
  pausedUntil?: number | null;
  pauseReason?: string | null;
  /** replaces the list; [] removes every gate */
  gates?: GateDefinition[];
  /** nested locks: the parent's name or id; null: no parent (src/lock/nested.ts) */
  parent?: string | null;
}

/**
 * `targetHost`: the host `changes.hostId` names, looked up by the store in the same
 * transaction (undefined when no such host exists — a 422).
 */
export function decideUpdate(
  current: LockState,
  changes: LockChanges,
  now: number,
  actor: Actor,
  targetHost?: HostRef,
): { next: LockState; events: EventDraft[] } {
  const events: EventDraft[] = [];
  let next: LockState = {
    ...current,
    name: changes.name ?? current.name,
    type: changes.type ?? current.type,
    enabled: changes.enabled ?? current.enabled,
    maxHolders: changes.maxHolders ?? current.maxHolders,
    maxHoldersPercent:
      changes.maxHoldersPercent ??
      (changes.maxHolders !== undefined ? null : (current.maxHoldersPercent ?? null)),
    membersDays: changes.membersDays ?? current.membersDays,
    leaseSeconds: changes.leaseSeconds === undefined ? current.leaseSeconds : changes.leaseSeconds,
    windows: changes.windows ?? current.windows,
    blackouts: changes.blackouts ?? current.blackouts,
    pausedUntil: changes.pausedUntil === undefined ? current.pausedUntil : changes.pausedUntil,
    pauseReason: changes.pauseReason === undefined ? current.pauseReason : changes.pauseReason,
    gates: changes.gates ?? current.gates,
    updatedAt: now,
  };
  // a reason belongs to a pause: lifting the pause drops it
  if (next.pausedUntil === null) next.pauseReason = null;
  // a percentage follows the members; the store recounts them when members_days changed
  if (changes.maxHoldersPercent !== undefined) next = withMembersCount(next, current.membersCount ?? 0);
  if (next.leaseSeconds !== current.leaseSeconds) {
    // A new lease applies to the current holders too, counted from their last refresh.
    const lease = next.leaseSeconds;
    next.holders = next.holders.map((h) => ({
      ...h,
      // a slot held through a child lives as long as the child's holding (src/lock/nested.ts)
      expiresAt: lease === null || h.viaLockId != null ? null : h.refreshedAt + lease * 1000,
    }));
  }
  if (next.enabled !== current.enabled) events.push(eventFor(next.enabled ? 'enable' : 'disable', actor));

  if (changes.hostId === null) {
    const freed = decideForceRelease(next, now, actor);
    next = freed.next;
    events.push(...freed.events);
  } else if (changes.hostId !== undefined) {
    if (!targetHost || targetHost.id !== changes.hostId) {
      throw validationError({ host_id: ['does not name a known host'] });
    }
    if (!next.holders.some((h) => h.hostId === targetHost.id)) {
      // foreman_dlm lets an operator set the holder: the others are freed, the host holds it.
      const freed = decideForceRelease(next, now, actor);
      next = admitHolder({ ...freed.next, holders: [] }, targetHost, now);
      events.push(...freed.events, {
        ...eventFor('acquire', actor),
        hostId: targetHost.id,
        hostName: targetHost.name,
      });
    }
  }
  return { next, events };
}
