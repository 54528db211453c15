// The hosts' interface: the hosts API (list with search, admin-added hosts, can_acquire_locks,
// deletion) and a host looked up by name. Implemented in src/store/hosts.ts; a host's check-in
// on a lock request is a lock operation (`LockStore.touchHost`).
import type { LockFilter } from '../../search/parse.js';
import type { AuditActor } from './accounts.js';

export interface HostRow {
  id: number;
  name: string;
  canAcquireLocks: boolean;
  createdAt: number;
  lastCheckinAt: number | null;
}

/** a lock a host holds, as the hosts API shows it */
export interface HostHolding {
  id: number;
  name: string;
  acquiredAt: number;
  refreshedAt: number;
}

export interface HostDetail extends HostRow {
  locks: HostHolding[];
}

export type HostOrderField = 'name' | 'last_checkin_at' | 'created_at' | 'id';

export interface ListHostsQuery {
  filter: LockFilter | null;
  order: { by: HostOrderField; desc: boolean };
  limit: number;
  offset: number;
  staleAfterMs: number;
}

export interface HostStore {
  list(query: ListHostsQuery): Promise<{ total: number; subtotal: number; hosts: HostDetail[]; now: number }>;
  /** by id or name (foreman's convention: a numeric reference is tried as an id first) */
  get(ref: string): Promise<{ host: HostDetail; now: number } | undefined>;
  /** by exact name, without the locks it holds */
  getByName(name: string): Promise<HostRow | undefined>;
  create(name: string, canAcquireLocks: boolean, actor: AuditActor): Promise<HostDetail>;
  /** false bars the host from acquiring any lock (412) */
  setCanAcquire(ref: string, canAcquireLocks: boolean, actor: AuditActor): Promise<HostDetail | undefined>;
  /**
   * Deletes the host row. The caller releases its locks first (with `force_release` events);
   * a holding that appeared since is taken out of its lock's holders in the same transaction.
   */
  delete(id: number, actor: AuditActor, detail: string | null): Promise<boolean>;
}
