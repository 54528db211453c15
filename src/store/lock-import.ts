// Locks brought in from another lock manager (`keyholder import-foreman`): unlike a keyholder
// export, the rows refer to hosts by name and carry no keyholder ids, so they go into a
// database that already has users and perhaps hosts — but no locks or lock events yet.
// Rows are written through the backup's table specs (src/store/backup.ts), one transaction.
import type { EventType } from '../lock/types.js';
import { deferRow, insertRow } from './backup.js';
import { holderColumns, holdersSet } from './holders-json.js';
import type { Tx } from './sql.js';

export interface ImportedHost {
  name: string;
  createdAt: number;
  lastCheckinAt: number | null;
}

export interface ImportedLock {
  name: string;
  type: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  /** mid-rollout: the host (by name) that holds the lock, kept as its one holder */
  holder: { hostName: string; acquiredAt: number; refreshedAt: number } | null;
}

export interface ImportedEvent {
  lockName: string;
  type: EventType;
  hostName: string | null;
  userLogin: string | null;
  detail: string | null;
  createdAt: number;
}

export interface LockImport {
  /** every host a lock or event names; created when keyholder does not know it yet */
  hosts: ImportedHost[];
  locks: ImportedLock[];
  /** oldest first: event ids keep that order */
  events: ImportedEvent[];
}

export interface LockImportCounts {
  hosts_created: number;
  hosts_existing: number;
  locks: number;
  lock_holders: number;
  lock_events: number;
  /** hosts that held or acquired an imported lock: its members (src/lock/members.ts) */
  lock_members: number;
}

/** The first fencing token of an imported holder; the lock's counter continues from it. */
export const IMPORTED_HOLDER_TOKEN = 1;

export async function assertNoLocks(tx: Tx): Promise<void> {
  for (const table of ['locks', 'lock_events', 'fencing_counters']) {
    const row = await tx.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
    const n = Number(row?.n ?? 0);
    if (n > 0) {
      throw new Error(
        `the target keyholder already has ${n} row(s) in ${table}: import locks only into a keyholder without locks`,
      );
    }
  }
}

async function hostIds(
  tx: Tx,
  hosts: ImportedHost[],
): Promise<{ ids: Map<string, number>; created: number }> {
  // the hosts keyholder knows already, in one query (a fleet has thousands)
  const known = await tx.all<{ id: number; name: string }>('SELECT id, name FROM hosts');
  const existing = new Map(known.map((h) => [h.name, Number(h.id)]));
  const ids = new Map<string, number>();
  let created = 0;
  for (const host of hosts) {
    const id = existing.get(host.name);
    if (id !== undefined) {
      ids.set(host.name, id);
      continue;
    }
    const newId = await insertRow(tx, 'hosts', {
      name: host.name,
      can_acquire_locks: true,
      created_at: host.createdAt,
      last_checkin_at: host.lastCheckinAt,
    });
    ids.set(host.name, newId);
    created++;
  }
  return { ids, created };
}

function hostId(ids: Map<string, number>, name: string): number {
  const id = ids.get(name);
  if (id === undefined) throw new Error(`host ${name} is named by the import but not listed in its hosts`);
  return id;
}

export async function importLockSet(tx: Tx, data: LockImport): Promise<LockImportCounts> {
  await assertNoLocks(tx);
  const hosts = await hostIds(tx, data.hosts);
  const lockIds = new Map<string, number>();
  let holders = 0;
  for (const lock of data.locks) {
    const id = await insertRow(tx, 'locks', {
      name: lock.name,
      type: lock.type,
      enabled: lock.enabled,
      max_holders: 1,
      lease_seconds: null,
      windows: null,
      fencing_counter: lock.holder ? IMPORTED_HOLDER_TOKEN : 0,
      created_at: lock.createdAt,
      updated_at: lock.updatedAt,
    });
    lockIds.set(lock.name, id);
    if (!lock.holder) continue;
    // the holder goes into the lock row (migration 14)
    const c = holderColumns([
      {
        host_id: hostId(hosts.ids, lock.holder.hostName),
        acquired_at: lock.holder.acquiredAt,
        refreshed_at: lock.holder.refreshedAt,
        fencing_token: IMPORTED_HOLDER_TOKEN,
        expires_at: null,
        via_lock_id: null,
        stale_reported_at: null,
      },
    ]);
    await tx.defer(`UPDATE locks SET ${holdersSet(tx)} WHERE id = ?`, [
      c.holders,
      c.holderCount,
      c.nextExpiry,
      id,
    ]);
    holders++;
  }
  for (const event of data.events) {
    await deferRow(tx, 'lock_events', {
      lock_id: lockIds.get(event.lockName) ?? null,
      lock_name: event.lockName,
      event_type: event.type,
      host_id: event.hostName === null ? null : hostId(hosts.ids, event.hostName),
      host_name: event.hostName,
      user_id: null,
      user_login: event.userLogin,
      detail: event.detail,
      created_at: event.createdAt,
    });
  }
  const members = await importMembers(tx, data, lockIds, hosts.ids);
  return {
    hosts_created: hosts.created,
    hosts_existing: hosts.ids.size - hosts.created,
    locks: data.locks.length,
    lock_holders: holders,
    lock_events: data.events.length,
    lock_members: members,
  };
}

/**
 * A lock's members are the hosts that acquired it lately: on foreman_dlm that history is in the
 * acquire events and the current holder. Importing them keeps a percentage max_holders and the
 * checkins gate right from the first request, instead of from each host's next acquire.
 */
async function importMembers(
  tx: Tx,
  data: LockImport,
  lockIds: Map<string, number>,
  hostIdsByName: Map<string, number>,
): Promise<number> {
  const lastAcquired = new Map<string, { lockId: number; hostId: number; at: number }>();
  const saw = (lockName: string, hostName: string, at: number) => {
    const lockId = lockIds.get(lockName);
    if (lockId === undefined) return;
    const memberId = hostId(hostIdsByName, hostName);
    const key = `${lockId}:${memberId}`;
    const known = lastAcquired.get(key);
    if (!known || known.at < at) lastAcquired.set(key, { lockId, hostId: memberId, at });
  };
  for (const lock of data.locks) {
    if (lock.holder) saw(lock.name, lock.holder.hostName, lock.holder.acquiredAt);
  }
  for (const event of data.events) {
    if (event.type === 'acquire' && event.hostName !== null)
      saw(event.lockName, event.hostName, event.createdAt);
  }
  for (const m of lastAcquired.values()) {
    await deferRow(tx, 'lock_members', {
      lock_id: m.lockId,
      host_id: m.hostId,
      last_acquired_at: m.at,
      added_by: null,
      added_at: null,
    });
  }
  return lastAcquired.size;
}
