// The lock tables' row shapes as both databases return them, and their mapping to the lock model.
import { DEFAULT_MEMBERS_DAYS, effectiveMaxHolders } from '../lock/members.js';
import type { Holder, LockState } from '../lock/types.js';
import type { Blackout } from '../lock/calendar.js';
import type { GateDefinition } from '../lock/gates.js';
import type { MaintenanceWindow } from '../lock/windows.js';

export const LOCK_COLUMNS =
  'l.id, l.name, l.type, l.enabled, l.max_holders, l.lease_seconds, l.windows, l.fencing_counter, l.created_at, l.updated_at' +
  ', l.blackouts, l.paused_until, l.pause_reason, l.gates, l.max_holders_pct, l.members_days, l.parent_id';

export interface LockRecord {
  id: number;
  name: string;
  type: string;
  enabled: boolean | number;
  max_holders: number;
  lease_seconds: number | null;
  /** JSON array of windows, NULL when unrestricted */
  windows: string | null;
  fencing_counter: number;
  created_at: number;
  updated_at: number;
  /** JSON array of blackouts, NULL when none */
  blackouts: string | null;
  paused_until: number | null;
  pause_reason: string | null;
  /** JSON array of health gates (migration 8), NULL when none */
  gates?: string | null;
  /** a percentage max_holders (migration 10); NULL for a fixed number */
  max_holders_pct: number | null;
  members_days: number;
  /** nested locks (migration 11) */
  parent_id?: number | null;
}

export interface HolderRecord {
  lock_id: number;
  host_id: number;
  host_name: string;
  acquired_at: number;
  refreshed_at: number;
  fencing_token: number;
  expires_at: number | null;
  /** nested locks (migration 11); absent from the PostgreSQL host rule's answer */
  via_lock_id?: number | null;
  via_lock_name?: string | null;
}

export function toHolder(r: HolderRecord): Holder {
  const holder: Holder = {
    hostId: Number(r.host_id),
    hostName: r.host_name,
    acquiredAt: Number(r.acquired_at),
    refreshedAt: Number(r.refreshed_at),
    fencingToken: Number(r.fencing_token),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
  };
  // nested locks: only a slot taken through a child carries these (the rest stays as it was)
  if (r.via_lock_id !== null && r.via_lock_id !== undefined) {
    holder.viaLockId = Number(r.via_lock_id);
    holder.viaLockName = r.via_lock_name ?? null;
  }
  return holder;
}

function percentOf(r: LockRecord): number | null {
  return r.max_holders_pct === null || r.max_holders_pct === undefined ? null : Number(r.max_holders_pct);
}

/** The limit in force: `max_holders`, or the percentage of `membersCount` (see `toLockState`). */
export function placesOf(r: LockRecord, membersCount: number | null): number {
  const percent = percentOf(r);
  return percent === null ? Number(r.max_holders) : effectiveMaxHolders(percent, membersCount ?? 0);
}

/**
 * `membersCount`: the lock's current members, counted by the store in the same transaction
 * (null: not counted). A percentage limit is worked out from it here, so the rules only ever
 * see the number in force.
 */
export function toLockState(r: LockRecord, holders: Holder[], membersCount: number | null = null): LockState {
  const percent = percentOf(r);
  const lock: LockState = {
    id: Number(r.id),
    name: r.name,
    type: r.type,
    enabled: Boolean(r.enabled),
    maxHolders: placesOf(r, membersCount),
    maxHoldersPercent: percent,
    membersDays: Number(r.members_days ?? DEFAULT_MEMBERS_DAYS),
    membersCount,
    leaseSeconds: r.lease_seconds === null ? null : Number(r.lease_seconds),
    windows: r.windows ? (JSON.parse(r.windows) as MaintenanceWindow[]) : [],
    fencingCounter: Number(r.fencing_counter),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    holders,
    blackouts: r.blackouts ? (JSON.parse(r.blackouts) as Blackout[]) : [],
    pausedUntil: r.paused_until === null || r.paused_until === undefined ? null : Number(r.paused_until),
    pauseReason: r.pause_reason ?? null,
    gates: r.gates ? (JSON.parse(r.gates) as GateDefinition[]) : [],
  };
  if (r.parent_id !== null && r.parent_id !== undefined) lock.parentId = Number(r.parent_id);
  return lock;
}

export function windowsColumn(windows: readonly MaintenanceWindow[]): string | null {
  return windows.length > 0 ? JSON.stringify(windows) : null;
}

export function blackoutsColumn(blackouts: readonly Blackout[]): string | null {
  return blackouts.length > 0 ? JSON.stringify(blackouts) : null;
}

export function gatesColumn(gates: readonly GateDefinition[] | undefined): string | null {
  return gates && gates.length > 0 ? JSON.stringify(gates) : null;
}
