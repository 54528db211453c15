// A lock's holders live in its own row (migration 14): `locks.holders`, a JSON array ordered by
// fencing token, with `holder_count` and `next_expiry` (the earliest lease end) kept in step by
// every writer. A grant or release thus writes one row instead of the lock row plus a holder
// row (DESIGN.md, the PostgreSQL cost table). The elements carry host ids, never host names:
// a host can be renamed, so readers join `hosts` as before. `lock_holders` is a view over these
// arrays with the old table's columns, for every reader.
import type { Holder } from '../lock/types.js';
import type { Queryable, Tx } from './sql.js';

/** One element of `locks.holders`, as stored (the old lock_holders row without its lock_id). */
export interface StoredHolder {
  host_id: number;
  acquired_at: number;
  refreshed_at: number;
  fencing_token: number;
  expires_at: number | null;
  via_lock_id: number | null;
  /** when the webhook feed reported this holder stale; NULL again after a refresh */
  stale_reported_at: number | null;
}

/** The holders column as a statement parameter: PostgreSQL casts the JSON text to jsonb. */
export function holdersParam(q: Queryable): string {
  return q.dialect === 'postgres' ? 'CAST(? AS jsonb)' : '?';
}

/** `locks.holders` as the driver returns it: pg parses jsonb, SQLite returns the text. */
export function parseStoredHolders(value: unknown): StoredHolder[] {
  if (value === null || value === undefined) return [];
  const list = (typeof value === 'string' ? JSON.parse(value) : value) as StoredHolder[];
  return list.map((h) => ({
    host_id: Number(h.host_id),
    acquired_at: Number(h.acquired_at),
    refreshed_at: Number(h.refreshed_at),
    fencing_token: Number(h.fencing_token),
    expires_at: h.expires_at === null || h.expires_at === undefined ? null : Number(h.expires_at),
    via_lock_id: h.via_lock_id === null || h.via_lock_id === undefined ? null : Number(h.via_lock_id),
    stale_reported_at:
      h.stale_reported_at === null || h.stale_reported_at === undefined ? null : Number(h.stale_reported_at),
  }));
}

/**
 * The stored elements of the lock model's holders (`holderColumns` puts them in token order).
 * `staleReportedAt`: the stale report kept for a holder the change left as it was (null for
 * every other).
 */
export function toStoredHolders(
  holders: readonly Holder[],
  staleReportedAt: (hostId: number) => number | null = () => null,
): StoredHolder[] {
  return holders.map((h) => ({
    host_id: h.hostId,
    acquired_at: h.acquiredAt,
    refreshed_at: h.refreshedAt,
    fencing_token: h.fencingToken,
    expires_at: h.expiresAt,
    via_lock_id: h.viaLockId ?? null,
    stale_reported_at: staleReportedAt(h.hostId),
  }));
}

/** Whether two holders are stored alike (all `locks.holders` keeps of them but the stale report). */
export function sameStoredHolder(a: Holder, b: Holder): boolean {
  return (
    a.hostId === b.hostId &&
    a.acquiredAt === b.acquiredAt &&
    a.refreshedAt === b.refreshedAt &&
    a.fencingToken === b.fencingToken &&
    a.expiresAt === b.expiresAt &&
    (a.viaLockId ?? null) === (b.viaLockId ?? null)
  );
}

/**
 * The hosts whose holding a change left as it is stored (`before`: the previous holders by
 * host). The holders differ in what `locks.holders` stores unless every holder before and after
 * is one of these. One pass: a percentage semaphore may have thousands of holders.
 */
export function keptHolders(before: ReadonlyMap<number, Holder>, next: readonly Holder[]): Set<number> {
  const kept = new Set<number>();
  for (const h of next) {
    const old = before.get(h.hostId);
    if (old !== undefined && sameStoredHolder(old, h)) kept.add(h.hostId);
  }
  return kept;
}

/** The three columns a writer sets together, as statement parameters. */
export function holderColumns(list: readonly StoredHolder[]): {
  holders: string;
  holderCount: number;
  nextExpiry: number | null;
} {
  let nextExpiry: number | null = null;
  for (const h of list) {
    if (h.expires_at !== null && (nextExpiry === null || h.expires_at < nextExpiry))
      nextExpiry = h.expires_at;
  }
  const sorted = [...list].sort((a, b) => a.fencing_token - b.fencing_token);
  return { holders: JSON.stringify(sorted), holderCount: sorted.length, nextExpiry };
}

/**
 * `holderColumns(toStoredHolders(holders, report))` without the objects in between, for SQLite's
 * fast host rule (src/store/sqlite/host-rule.ts), which writes the holders on every grant and
 * release: the same text, count and next expiry. The holders must be in token order (the
 * rules keep them so); any that are not take the general way.
 */
export function holderColumnsOf(
  holders: readonly Holder[],
  staleReportedAt: ReadonlyMap<number, number> | undefined,
): { holders: string; holderCount: number; nextExpiry: number | null } {
  let text = '[';
  let nextExpiry: number | null = null;
  for (let i = 0; i < holders.length; i++) {
    const h = holders[i]!;
    if (i > 0) {
      if (h.fencingToken < holders[i - 1]!.fencingToken) {
        return holderColumns(toStoredHolders(holders, (id) => staleReportedAt?.get(id) ?? null));
      }
      text += ',';
    }
    // JSON.stringify's key order and number format: StoredHolder's fields, in their order
    text += `{"host_id":${h.hostId},"acquired_at":${h.acquiredAt},"refreshed_at":${h.refreshedAt},"fencing_token":${h.fencingToken},"expires_at":${h.expiresAt},"via_lock_id":${h.viaLockId ?? null},"stale_reported_at":${staleReportedAt?.get(h.hostId) ?? null}}`;
    if (h.expiresAt !== null && (nextExpiry === null || h.expiresAt < nextExpiry)) nextExpiry = h.expiresAt;
  }
  return { holders: `${text}]`, holderCount: holders.length, nextExpiry };
}

/** The SET clause of those three columns, for an UPDATE of `locks` (three parameters). */
export function holdersSet(q: Queryable): string {
  return `holders = ${holdersParam(q)}, holder_count = ?, next_expiry = ?`;
}

/** A lock's stored holders, read in the transaction (the row taken for update on PostgreSQL). */
export async function readStoredHolders(tx: Tx, lockId: number): Promise<StoredHolder[]> {
  const row = await tx.get<{ holders: unknown }>(`SELECT holders FROM locks WHERE id = ?${tx.forUpdate}`, [
    lockId,
  ]);
  return parseStoredHolders(row?.holders);
}

/** Replaces a lock's holders (now: its result is read by the statements after it). */
export async function writeStoredHolders(
  tx: Tx,
  lockId: number,
  list: readonly StoredHolder[],
): Promise<void> {
  const c = holderColumns(list);
  await tx.run(`UPDATE locks SET ${holdersSet(tx)} WHERE id = ?`, [
    c.holders,
    c.holderCount,
    c.nextExpiry,
    lockId,
  ]);
}

/**
 * Takes a host out of every lock's holders: its deletion (the foreign key that did this for
 * the old table is gone). Run after the host row's DELETE, which waited for every acquire
 * holding its key-share lock, so no holder of the host can appear afterwards.
 */
export async function removeHostFromHolders(tx: Tx, hostId: number): Promise<void> {
  const rows = await tx.all<{ lock_id: number }>(
    'SELECT DISTINCT lock_id FROM lock_holders WHERE host_id = ? ORDER BY lock_id',
    [hostId],
  );
  for (const { lock_id } of rows) {
    const list = await readStoredHolders(tx, Number(lock_id));
    await writeStoredHolders(
      tx,
      Number(lock_id),
      list.filter((h) => h.host_id !== hostId),
    );
  }
}

/**
 * A deleted lock is no longer the child a slot was taken through (the old foreign key's ON
 * DELETE SET NULL). Deferred like the holder writes before it, so it runs after them: the
 * rules release those slots already, this is the backstop.
 */
export async function clearViaLock(tx: Tx, lockId: number): Promise<void> {
  if (tx.dialect === 'postgres') {
    await tx.defer(
      `UPDATE locks SET holders = (SELECT jsonb_agg(CASE WHEN (e->>'via_lock_id')::bigint = ?
           THEN jsonb_set(e, '{via_lock_id}', 'null'::jsonb) ELSE e END ORDER BY o)
         FROM jsonb_array_elements(locks.holders) WITH ORDINALITY AS t(e, o))
       WHERE holder_count > 0 AND holders @> CAST(? AS jsonb)`,
      [lockId, JSON.stringify([{ via_lock_id: lockId }])],
    );
    return;
  }
  await tx.defer(
    `UPDATE locks SET holders = (SELECT json_group_array(CASE WHEN json_extract(j.value, '$.via_lock_id') = ?
         THEN json_set(j.value, '$.via_lock_id', NULL) ELSE json(j.value) END) FROM json_each(locks.holders) j)
     WHERE holder_count > 0
       AND EXISTS (SELECT 1 FROM json_each(locks.holders) j WHERE json_extract(j.value, '$.via_lock_id') = ?)`,
    [lockId, lockId],
  );
}

/** The stale report (src/store/webhook-feed.ts): marks one holder's element, leaves the rest. */
export async function markStaleReported(tx: Tx, lockId: number, hostId: number, at: number): Promise<void> {
  const list = await readStoredHolders(tx, lockId);
  if (!list.some((h) => h.host_id === hostId)) return;
  await writeStoredHolders(
    tx,
    lockId,
    list.map((h) => (h.host_id === hostId ? { ...h, stale_reported_at: at } : h)),
  );
}
