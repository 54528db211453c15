// The hosts table: its row shape, columns and mapping, and the hosts API's SQL (list with search
// and the locks each host holds, admin-added hosts, `can_acquire_locks`, deletion). Changes and
// their audit events are one transaction. A host's check-in on a lock request is lock SQL
// (upsertHost in src/store/lock-sql.ts).
import { validationError } from '../errors.js';
import { insertAudit } from './audit.js';
import { removeHostFromHolders } from './holders-json.js';
import { compileFilter, HOST_SEARCH } from './search-sql.js';
import { UniqueViolation, type Queryable, type Run } from './sql.js';
import type { AuditActor, HostDetail, HostHolding, HostRow, HostStore, ListHostsQuery } from './store.js';

const HOST_FIELDS = ['id', 'name', 'can_acquire_locks', 'created_at', 'last_checkin_at'];
/** a host row's columns, for RETURNING and single-table reads */
const HOST_COLUMNS = HOST_FIELDS.join(', ');
/** the same over `hosts ho` */
const COLUMNS = HOST_FIELDS.map((c) => `ho.${c}`).join(', ');

interface HostRecord {
  id: number;
  name: string;
  can_acquire_locks: boolean | number;
  created_at: number;
  last_checkin_at: number | null;
}

function toHostRow(r: HostRecord): HostRow {
  return {
    id: Number(r.id),
    name: r.name,
    canAcquireLocks: Boolean(r.can_acquire_locks),
    createdAt: Number(r.created_at),
    lastCheckinAt: r.last_checkin_at === null ? null : Number(r.last_checkin_at),
  };
}

function toHost(r: HostRecord, locks: HostHolding[]): HostDetail {
  return { ...toHostRow(r), locks };
}

/** foreman's convention: a numeric reference is tried as an id first, then as a name. */
async function findHost(q: Queryable, ref: string, lockClause = ''): Promise<HostRecord | undefined> {
  if (/^\d{1,15}$/.test(ref)) {
    const byId = await q.get<HostRecord>(`SELECT ${COLUMNS} FROM hosts ho WHERE ho.id = ?${lockClause}`, [
      Number(ref),
    ]);
    if (byId) return byId;
  }
  return q.get<HostRecord>(`SELECT ${COLUMNS} FROM hosts ho WHERE ho.name = ?${lockClause}`, [ref]);
}

async function heldLocks(q: Queryable, hostIds: number[]): Promise<Map<number, HostHolding[]>> {
  const byHost = new Map<number, HostHolding[]>();
  if (hostIds.length === 0) return byHost;
  const rows = await q.all<{
    host_id: number;
    id: number;
    name: string;
    acquired_at: number;
    refreshed_at: number;
  }>(
    `SELECT lh.host_id, l.id, l.name, lh.acquired_at, lh.refreshed_at FROM lock_holders lh
     JOIN locks l ON l.id = lh.lock_id WHERE lh.host_id IN (${hostIds.map(() => '?').join(', ')})
     ORDER BY l.name`,
    hostIds,
  );
  for (const r of rows) {
    const list = byHost.get(Number(r.host_id)) ?? [];
    list.push({
      id: Number(r.id),
      name: r.name,
      acquiredAt: Number(r.acquired_at),
      refreshedAt: Number(r.refreshed_at),
    });
    byHost.set(Number(r.host_id), list);
  }
  return byHost;
}

export class HostDirectory implements HostStore {
  constructor(
    private readonly write: Run,
    private readonly read: Run,
  ) {}

  list(
    query: ListHostsQuery,
  ): Promise<{ total: number; subtotal: number; hosts: HostDetail[]; now: number }> {
    return this.read(async (q) => {
      const now = await q.now();
      const where = query.filter
        ? compileFilter(query.filter, q.dialect, { staleCutoff: now - query.staleAfterMs, now }, HOST_SEARCH)
        : { sql: '1 = 1', params: [] };
      const dir = query.order.desc ? 'DESC' : 'ASC';
      const by = query.order.by;
      // Both stores sort the same way: names case-insensitively, hosts never seen last.
      const sortKey =
        by === 'name'
          ? `LOWER(ho.name) ${dir}, ho.name ${dir}`
          : by === 'last_checkin_at'
            ? `(CASE WHEN ho.last_checkin_at IS NULL THEN 1 ELSE 0 END), ho.last_checkin_at ${dir}`
            : `ho.${by} ${dir}`;
      const total = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM hosts');
      const subtotal = await q.get<{ n: number }>(
        `SELECT COUNT(*) AS n FROM hosts ho WHERE ${where.sql}`,
        where.params,
      );
      const records = await q.all<HostRecord>(
        `SELECT ${COLUMNS} FROM hosts ho WHERE ${where.sql} ORDER BY ${sortKey}, ho.id ${dir} LIMIT ? OFFSET ?`,
        [...where.params, query.limit, query.offset],
      );
      const locks = await heldLocks(
        q,
        records.map((r) => Number(r.id)),
      );
      return {
        total: Number(total?.n ?? 0),
        subtotal: Number(subtotal?.n ?? 0),
        hosts: records.map((r) => toHost(r, locks.get(Number(r.id)) ?? [])),
        now,
      };
    });
  }

  get(ref: string): Promise<{ host: HostDetail; now: number } | undefined> {
    return this.read(async (q) => {
      const r = await findHost(q, ref);
      if (!r) return undefined;
      const locks = await heldLocks(q, [Number(r.id)]);
      return { host: toHost(r, locks.get(Number(r.id)) ?? []), now: await q.now() };
    });
  }

  getByName(name: string): Promise<HostRow | undefined> {
    return this.read(async (q) => {
      const r = await q.get<HostRecord>(`SELECT ${HOST_COLUMNS} FROM hosts WHERE name = ?`, [name]);
      return r ? toHostRow(r) : undefined;
    });
  }

  create(name: string, canAcquireLocks: boolean, actor: AuditActor): Promise<HostDetail> {
    return this.write(async (tx) => {
      const now = await tx.now();
      let r: HostRecord | undefined;
      try {
        r = await tx.get<HostRecord>(
          `INSERT INTO hosts (name, can_acquire_locks, created_at) VALUES (?, ?, ?)
           RETURNING ${HOST_COLUMNS}`,
          [name, canAcquireLocks, now],
        );
      } catch (err) {
        if (err instanceof UniqueViolation) throw validationError({ name: ['has already been taken'] });
        throw err;
      }
      await insertAudit(tx, 'host_create', actor, name, `can_acquire_locks ${canAcquireLocks}`, now);
      return toHost(r!, []);
    });
  }

  setCanAcquire(ref: string, canAcquireLocks: boolean, actor: AuditActor): Promise<HostDetail | undefined> {
    return this.write(async (tx) => {
      const now = await tx.now();
      const current = await findHost(tx, ref, tx.forUpdate);
      if (!current) return undefined;
      await tx.run('UPDATE hosts SET can_acquire_locks = ? WHERE id = ?', [canAcquireLocks, current.id]);
      if (Boolean(current.can_acquire_locks) !== canAcquireLocks) {
        await insertAudit(
          tx,
          'host_update',
          actor,
          current.name,
          `can_acquire_locks ${canAcquireLocks}`,
          now,
        );
      }
      const locks = await heldLocks(tx, [Number(current.id)]);
      return toHost({ ...current, can_acquire_locks: canAcquireLocks }, locks.get(Number(current.id)) ?? []);
    });
  }

  delete(id: number, actor: AuditActor, detail: string | null): Promise<boolean> {
    return this.write(async (tx) => {
      const now = await tx.now();
      const r = await tx.get<{ name: string }>('SELECT name FROM hosts WHERE id = ?', [id]);
      if (!r) return false;
      await tx.run('DELETE FROM hosts WHERE id = ?', [id]);
      // after the DELETE, which waited for every acquire that holds the host row's key-share
      // lock: no holder of this host appears once it ran (the old table's foreign key did this)
      await removeHostFromHolders(tx, id);
      await insertAudit(tx, 'host_delete', actor, r.name, detail, now);
      return true;
    });
  }
}
