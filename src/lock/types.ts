// The lock state the rules reason about. Times are milliseconds since the epoch, taken from
// the database's clock by the store, so several server instances agree on them.

import type { Blackout } from './calendar.js';
import type { GateDefinition } from './gates.js';
import type { MaintenanceWindow } from './windows.js';

export const DEFAULT_LOCK_TYPE = 'ForemanDlm::Dlmlock::Update';

export interface Holder {
  hostId: number;
  hostName: string;
  acquiredAt: number;
  /** last acquire or refresh (re-acquire); stale and lease expiry count from here */
  refreshedAt: number;
  fencingToken: number;
  expiresAt: number | null;
  /**
   * Nested locks: set when this slot was taken through a child lock (the child's id); it lives
   * exactly as long as the host holds a child, so it has no lease of its own.
   */
  viaLockId?: number | null;
  /** the name of that child, for display */
  viaLockName?: string | null;
}

export interface LockState {
  id: number;
  name: string;
  type: string;
  enabled: boolean;
  /** the limit in force: the fixed number, or what `maxHoldersPercent` of the members allows now */
  maxHolders: number;
  // Members (src/lock/members.ts). Optional so a state built by hand (tests, imports) means
  // what every lock meant before percentages: a fixed limit, the default days, not counted.
  /** set when max_holders was given as a percentage of the lock's members ("10%") */
  maxHoldersPercent?: number | null;
  /** how long a host that took the lock stays a member (default 30) */
  membersDays?: number;
  /** the current members; null where the store did not count them (a host's acquire of a fixed-limit lock) */
  membersCount?: number | null;
  leaseSeconds: number | null;
  /** empty: no restriction; otherwise new holders are only admitted inside a window */
  windows: MaintenanceWindow[];
  /** whole local days on which no new holder is admitted (holidays, freezes) */
  blackouts: Blackout[];
  /** no new holder before this instant (null: not paused; a past instant is kept as given) */
  pausedUntil: number | null;
  pauseReason: string | null;
  /** health gates a new holder must pass (src/lock/gates.ts); absent or empty: none */
  gates?: GateDefinition[];
  /** the highest fencing token ever issued for this lock; only grows */
  fencingCounter: number;
  createdAt: number;
  updatedAt: number;
  /** ordered by acquiredAt, earliest first */
  holders: Holder[];
  /** nested locks: the parent's id and name (null: a root), and the children's names */
  parentId?: number | null;
  parent?: string | null;
  children?: string[];
}

export interface HostRef {
  id: number;
  name: string;
  canAcquireLocks: boolean;
}

export interface Actor {
  host?: { id: number; name: string };
  user?: { id: number; login: string };
}

export type EventType =
  | 'acquire'
  | 'release'
  | 'enable'
  | 'disable'
  | 'fail'
  | 'create'
  | 'delete'
  | 'expire'
  | 'force_release'
  | 'update'
  /** a holder went past stale_after without refreshing (recorded once per holder and episode) */
  | 'stale'
  /** a health gate's outcome changed (pass → fail or back); detail names the gate and why */
  | 'gate';

export interface EventDraft {
  type: EventType;
  hostId: number | null;
  hostName: string | null;
  userId: number | null;
  userLogin: string | null;
  /** short machine-readable detail, e.g. the reason of a `fail` */
  detail: string | null;
}

export function eventFor(type: EventType, actor: Actor, detail: string | null = null): EventDraft {
  return {
    type,
    hostId: actor.host?.id ?? null,
    hostName: actor.host?.name ?? null,
    userId: actor.user?.id ?? null,
    userLogin: actor.user?.login ?? null,
    detail,
  };
}
