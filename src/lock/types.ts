// The lock state the rules reason about. Times are milliseconds since the epoch, taken from
// the database's clock by the store, so several server instances agree on them.

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
  maxHolders: number;
  leaseSeconds: number | null;
  /** empty: no restriction; otherwise new holders are only admitted inside a window */
  windows: MaintenanceWindow[];
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
  | 'stale';

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
