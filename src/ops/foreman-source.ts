// Reads foreman_dlm's tables from a Foreman PostgreSQL database, read-only and from one
// snapshot: `dlmlocks`, `dlmlock_events`, the names of the hosts they refer to (`hosts`), the
// logins of the users events name (`users`) and, where the table exists, the hosts' last DLM
// check-in (`dlm_facets`). Rails writes timestamps as UTC without a zone, so EXTRACT(EPOCH)
// of the stored value is the instant.
import pg from 'pg';

export interface ForemanLock {
  id: number;
  name: string;
  type: string | null;
  enabled: boolean;
  hostId: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface ForemanEvent {
  id: number;
  lockId: number;
  eventType: string | null;
  hostId: number | null;
  userId: number | null;
  createdAt: number;
}

export interface ForemanSnapshot {
  locks: ForemanLock[];
  events: ForemanEvent[];
  /** id → name, for the hosts locks and events refer to */
  hosts: Map<number, string>;
  /** id → login, for the users events refer to */
  users: Map<number, string>;
  /** host id → last check-in (dlm_facets), where Foreman recorded one */
  checkins: Map<number, number>;
}

const ms = (column: string) => `(EXTRACT(EPOCH FROM ${column}) * 1000)::float8`;

export async function readForemanDatabase(url: string): Promise<ForemanSnapshot> {
  const client = new pg.Client({ connectionString: url, application_name: 'keyholder import-foreman' });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const missing = await client.query<{ name: string }>(
      `SELECT t AS name FROM unnest(ARRAY['dlmlocks', 'dlmlock_events', 'hosts']) AS t
       WHERE to_regclass(t) IS NULL`,
    );
    if (missing.rows.length > 0) {
      throw new Error(
        `this database has no ${missing.rows.map((r) => r.name).join(', ')} table: is it Foreman's, with foreman_dlm installed?`,
      );
    }
    const locks = await client.query(
      `SELECT id, name, type, enabled, host_id, ${ms('created_at')} AS created_at, ${ms('updated_at')} AS updated_at
       FROM dlmlocks ORDER BY id`,
    );
    const events = await client.query(
      `SELECT id, dlmlock_id, event_type, host_id, user_id, ${ms('created_at')} AS created_at
       FROM dlmlock_events ORDER BY created_at, id`,
    );
    const hosts = await client.query(
      `SELECT id, name FROM hosts
       WHERE id IN (SELECT host_id FROM dlmlocks UNION SELECT host_id FROM dlmlock_events)`,
    );
    const haveUsers = (await client.query(`SELECT to_regclass('users') IS NOT NULL AS ok`)).rows[0].ok;
    const users = haveUsers
      ? await client.query(`SELECT id, login FROM users WHERE id IN (SELECT user_id FROM dlmlock_events)`)
      : { rows: [] };
    const haveFacets = (await client.query(`SELECT to_regclass('dlm_facets') IS NOT NULL AS ok`)).rows[0].ok;
    const checkins = haveFacets
      ? await client.query(
          `SELECT host_id, ${ms('last_checkin_at')} AS last_checkin_at FROM dlm_facets WHERE last_checkin_at IS NOT NULL`,
        )
      : { rows: [] };
    await client.query('COMMIT');
    return {
      locks: locks.rows.map((r) => ({
        id: Number(r.id),
        name: r.name,
        type: r.type,
        enabled: r.enabled,
        hostId: r.host_id === null ? null : Number(r.host_id),
        createdAt: Math.round(r.created_at),
        updatedAt: Math.round(r.updated_at),
      })),
      events: events.rows.map((r) => ({
        id: Number(r.id),
        lockId: Number(r.dlmlock_id),
        eventType: r.event_type,
        hostId: r.host_id === null ? null : Number(r.host_id),
        userId: r.user_id === null ? null : Number(r.user_id),
        createdAt: Math.round(r.created_at),
      })),
      hosts: new Map(hosts.rows.map((r) => [Number(r.id), String(r.name)])),
      users: new Map(users.rows.map((r: { id: number; login: string }) => [Number(r.id), String(r.login)])),
      checkins: new Map(
        checkins.rows.map((r: { host_id: number; last_checkin_at: number }) => [
          Number(r.host_id),
          Math.round(r.last_checkin_at),
        ]),
      ),
    };
  } finally {
    await client.end();
  }
}
