// Backup and restore as JSON (`keyholder export` / `import`): every table that matters — hosts,
// users, locks with their holders and fencing counters (also of deleted locks), events, API tokens (hashed), the
// audit trail — so a SQLite installation can move to PostgreSQL, or be restored, as it was.
// Transient state is left out: UI sessions (log in again) and blocking-acquire queues.
import { z } from 'zod';
import type { Queryable, Tx } from './sql.js';
import { writeStoredHolders, type StoredHolder } from './holders-json.js';

interface TableSpec {
  name: string;
  columns: string[];
  booleans?: string[];
  /** has an identity/autoincrement `id` to move past the imported rows */
  identity: boolean;
  /** values for columns an export from an older version does not have */
  defaults?: Record<string, Value>;
}

/** In foreign-key order: a row's references are imported before it. */
export const TABLES: TableSpec[] = [
  {
    name: 'users',
    columns: ['id', 'login', 'password_hash', 'role', 'created_at', 'updated_at'],
    identity: true,
  },
  {
    name: 'hosts',
    columns: ['id', 'name', 'can_acquire_locks', 'created_at', 'last_checkin_at'],
    booleans: ['can_acquire_locks'],
    identity: true,
  },
  {
    name: 'locks',
    columns: [
      'id',
      'name',
      'type',
      'enabled',
      'max_holders',
      'lease_seconds',
      'windows',
      'fencing_counter',
      'created_at',
      'updated_at',
      'blackouts',
      'paused_until',
      'pause_reason',
      'gates',
      'max_holders_pct',
      'members_days',
      // nested locks (migration 11); absent from older exports
      'parent_id',
    ],
    booleans: ['enabled'],
    identity: true,
    defaults: { members_days: 30 },
  },
  {
    name: 'lock_holders',
    columns: [
      'lock_id',
      'host_id',
      'acquired_at',
      'refreshed_at',
      'fencing_token',
      'expires_at',
      'via_lock_id',
    ],
    identity: false,
  },
  {
    name: 'lock_events',
    columns: [
      'id',
      'lock_id',
      'lock_name',
      'event_type',
      'host_id',
      'host_name',
      'user_id',
      'user_login',
      'detail',
      'created_at',
    ],
    identity: true,
  },
  {
    name: 'api_tokens',
    columns: [
      'id',
      'user_id',
      'name',
      'token_hash',
      'prefix',
      'created_by',
      'created_at',
      'expires_at',
      'revoked_at',
      'last_used_at',
    ],
    identity: true,
  },
  {
    name: 'audit_events',
    columns: [
      'id',
      'event_type',
      'actor_user_id',
      'actor_login',
      'target',
      'detail',
      'address',
      'created_at',
    ],
    identity: true,
  },
  {
    // counters of deleted and renamed locks: a lock recreated after a restore still never
    // hands out a token it handed out before
    name: 'fencing_counters',
    columns: ['lock_name', 'counter'],
    identity: false,
  },
  {
    // the global pause (migration 9)
    name: 'settings',
    columns: ['name', 'value', 'updated_at'],
    identity: false,
  },
  {
    // lock members (migration 10): after their locks and hosts
    name: 'lock_members',
    columns: ['lock_id', 'host_id', 'last_acquired_at', 'added_by', 'added_at'],
    identity: false,
  },
];

export const EXPORT_FORMAT = 'keyholder-export';
export const EXPORT_VERSION = 1;

type Value = string | number | boolean | null;

export interface ExportDocument {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exported_at: string;
  tables: Record<string, Record<string, Value>[]>;
}

const valueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** The shape an import accepts; each table's columns are checked against TABLES too. */
export const ExportDocumentSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(EXPORT_VERSION),
  exported_at: z.string(),
  tables: z.record(z.string(), z.array(z.record(z.string(), valueSchema))),
});

function normalize(spec: TableSpec, row: Record<string, unknown>): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const column of spec.columns) {
    const v = row[column];
    if (v === undefined && spec.defaults?.[column] !== undefined) {
      out[column] = spec.defaults[column];
      continue;
    }
    out[column] =
      v === null || v === undefined
        ? null
        : spec.booleans?.includes(column)
          ? Boolean(v)
          : typeof v === 'bigint'
            ? Number(v)
            : (v as Value);
  }
  return out;
}

export async function exportTables(q: Queryable): Promise<ExportDocument['tables']> {
  const tables: ExportDocument['tables'] = {};
  for (const spec of TABLES) {
    const order = spec.identity ? 'id' : spec.columns.slice(0, 2).join(', ');
    const rows = await q.all<Record<string, unknown>>(
      `SELECT ${spec.columns.join(', ')} FROM ${spec.name} ORDER BY ${order}`,
    );
    tables[spec.name] = rows.map((r) => normalize(spec, r));
  }
  return tables;
}

/** Problems that make a document unusable, before anything is written. */
export function documentProblems(doc: ExportDocument): string[] {
  const problems: string[] = [];
  const known = new Map(TABLES.map((t) => [t.name, t]));
  for (const [name, rows] of Object.entries(doc.tables)) {
    const spec = known.get(name);
    if (!spec) {
      problems.push(`unknown table '${name}'`);
      continue;
    }
    rows.forEach((row, i) => {
      const extra = Object.keys(row).filter((c) => !spec.columns.includes(c));
      if (extra.length) problems.push(`${name}[${i}] has unknown columns: ${extra.join(', ')}`);
    });
  }
  return problems.slice(0, 20);
}

export async function assertEmpty(tx: Tx): Promise<void> {
  for (const spec of TABLES) {
    const row = await tx.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${spec.name}`);
    if (Number(row?.n ?? 0) > 0) {
      throw new Error(
        `the target database is not empty (table ${spec.name} has rows): import only into a new database`,
      );
    }
  }
}

/** An INSERT of one row into one of the backed-up tables, its columns checked against TABLES. */
function insertStatement(table: string, row: Record<string, Value>) {
  const spec = TABLES.find((t) => t.name === table);
  if (!spec) throw new Error(`unknown table ${table}`);
  const columns = Object.keys(row);
  const unknown = columns.filter((c) => !spec.columns.includes(c));
  if (unknown.length) throw new Error(`${table} has no columns ${unknown.join(', ')}`);
  const values = normalize({ ...spec, columns }, row);
  return {
    spec,
    sql: `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    params: columns.map((c) => values[c]),
  };
}

/**
 * One row, by column name, into a table with an id; returns the new id. For importers that
 * build rows themselves (src/store/lock-import.ts).
 */
export async function insertRow(tx: Tx, table: string, row: Record<string, Value>): Promise<number> {
  const { spec, sql, params } = insertStatement(table, row);
  if (!spec.identity) throw new Error(`${table} has no id: write its rows with deferRow`);
  const inserted = await tx.get<{ id: number }>(`${sql} RETURNING id`, params);
  return Number(inserted!.id);
}

/** One row whose id nobody needs: PostgreSQL sends it with the COMMIT (thousands of events at once). */
export async function deferRow(tx: Tx, table: string, row: Record<string, Value>): Promise<void> {
  const { sql, params } = insertStatement(table, row);
  await tx.defer(sql, params);
}

/**
 * The export keeps a `lock_holders` table, as before migration 14; a lock's rows go into its
 * lock row's `holders` (src/store/holders-json.ts), one UPDATE per held lock.
 */
async function importHolders(tx: Tx, spec: TableSpec, rows: Record<string, Value>[]): Promise<number> {
  const byLock = new Map<number, StoredHolder[]>();
  for (const raw of rows) {
    const row = normalize(spec, raw);
    const lockId = Number(row.lock_id);
    const list = byLock.get(lockId) ?? [];
    list.push({
      host_id: Number(row.host_id),
      acquired_at: Number(row.acquired_at),
      refreshed_at: Number(row.refreshed_at),
      fencing_token: Number(row.fencing_token),
      expires_at: row.expires_at === null ? null : Number(row.expires_at),
      via_lock_id: row.via_lock_id === null ? null : Number(row.via_lock_id),
      stale_reported_at: null,
    });
    byLock.set(lockId, list);
  }
  for (const [lockId, list] of byLock) {
    const found = await tx.get<{ id: number }>('SELECT id FROM locks WHERE id = ?', [lockId]);
    if (!found) throw new Error(`lock_holders names lock ${lockId}, which the export's locks do not have`);
    await writeStoredHolders(tx, lockId, list);
  }
  return rows.length;
}

export async function importTables(
  tx: Tx,
  tables: ExportDocument['tables'],
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const spec of TABLES) {
    const rows = tables[spec.name] ?? [];
    if (spec.name === 'lock_holders') {
      counts[spec.name] = await importHolders(tx, spec, rows);
      continue;
    }
    const placeholders = spec.columns.map(() => '?').join(', ');
    const sql = `INSERT INTO ${spec.name} (${spec.columns.join(', ')}) VALUES (${placeholders})`;
    for (const row of rows) {
      await tx.run(
        sql,
        spec.columns.map((c) => normalize(spec, row)[c]),
      );
    }
    counts[spec.name] = rows.length;
  }
  return counts;
}
