// Migration 14 on a database that has holders: the rows of the old lock_holders table move into
// their lock rows (`locks.holders`, `holder_count`, `next_expiry`), the `lock_holders` view shows
// them as they were, and the locks work on from there. A database built up to migration 13 with
// the migrations' own SQL, on both stores.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { STORES } from '../support/stores.js';

const BEFORE = 13;
const NOW = Date.now();

/** The old table's rows: a semaphore held by two hosts, one with a lease and a stale report. */
const SEED = [
  `INSERT INTO hosts (id, name, created_at) VALUES (1, 'web01', 1), (2, 'web02', 1), (3, 'web03', 1)`,
  `INSERT INTO locks (id, name, type, max_holders, lease_seconds, created_at, updated_at, fencing_counter)
   VALUES (1, 'sem', 'ForemanDlm::Dlmlock::Update', 3, 3600, 1, 1, 7), (2, 'free', 'ForemanDlm::Dlmlock::Update', 1, NULL, 1, 1, 0)`,
  `INSERT INTO lock_holders (lock_id, host_id, acquired_at, refreshed_at, fencing_token, expires_at, stale_reported_at)
   VALUES (1, 2, ${NOW - 5000}, ${NOW - 4000}, 7, ${NOW + 3_600_000}, NULL),
          (1, 1, ${NOW - 9000}, ${NOW - 8000}, 5, ${NOW + 1_800_000}, ${NOW - 100})`,
];

interface Seeded {
  store: Store;
  query: (sql: string) => Promise<Record<string, unknown>[]>;
  dispose: () => Promise<void>;
}

async function seedSqlite(): Promise<Seeded> {
  const dir = mkdtempSync(join(tmpdir(), 'keyholder-m14-'));
  const file = join(dir, 'keyholder.sqlite');
  const db = new Database(file);
  db.exec(
    'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
  );
  for (const m of MIGRATIONS.filter((m) => m.version <= BEFORE)) {
    db.exec(m.sqlite);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 1);
  }
  for (const sql of SEED) db.exec(sql);
  db.close();
  const store = new SqliteStore(file);
  const reader = new Database(file, { readonly: true, fileMustExist: true });
  return {
    store,
    query: async (sql) => reader.prepare(sql).all() as Record<string, unknown>[],
    dispose: async () => {
      reader.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function seedPostgres(): Promise<Seeded> {
  const base = inject('pgBaseUrl');
  const name = `kh_m14_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: `${base}postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const client = new pg.Client({ connectionString: `${base}${name}` });
  await client.connect();
  await client.query(
    'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
  );
  for (const m of MIGRATIONS.filter((m) => m.version <= BEFORE)) {
    await client.query(m.postgres);
    await client.query('INSERT INTO schema_migrations VALUES ($1, $2, 1)', [m.version, m.name]);
  }
  for (const sql of SEED) await client.query(sql);
  const store = new PostgresStore({ url: `${base}${name}` });
  return {
    store,
    query: async (sql) => (await client.query(sql)).rows as Record<string, unknown>[],
    dispose: async () => {
      await client.end();
      await store.close();
      const c = new pg.Client({ connectionString: `${base}postgres` });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

const numbers = (rows: Record<string, unknown>[]) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : Number(v)])));

describe.each(STORES)('migration 14: holders in the lock row (%s)', (kind) => {
  let seeded: Seeded;
  beforeAll(async () => {
    seeded = kind === 'sqlite' ? await seedSqlite() : await seedPostgres();
    await seeded.store.migrate();
  });
  afterAll(async () => seeded?.dispose());

  it('moves the holder rows into their lock rows, by fencing token', async () => {
    const rows = numbers(await seeded.query('SELECT id, holder_count, next_expiry FROM locks ORDER BY id'));
    expect(rows).toEqual([
      { id: 1, holder_count: 2, next_expiry: NOW + 1_800_000 },
      { id: 2, holder_count: 0, next_expiry: null },
    ]);
    const [sem] = await seeded.query('SELECT holders FROM locks WHERE id = 1');
    const holders = (typeof sem!.holders === 'string' ? JSON.parse(sem!.holders) : sem!.holders) as {
      host_id: number;
      fencing_token: number;
    }[];
    expect(holders.map((h) => [h.host_id, h.fencing_token])).toEqual([
      [1, 5],
      [2, 7],
    ]);
  });

  it('shows them through the lock_holders view as the table had them', async () => {
    const rows = numbers(
      await seeded.query(
        `SELECT lock_id, host_id, acquired_at, refreshed_at, fencing_token, expires_at, via_lock_id, stale_reported_at
         FROM lock_holders ORDER BY lock_id, host_id`,
      ),
    );
    expect(rows).toEqual([
      {
        lock_id: 1,
        host_id: 1,
        acquired_at: NOW - 9000,
        refreshed_at: NOW - 8000,
        fencing_token: 5,
        expires_at: NOW + 1_800_000,
        via_lock_id: null,
        stale_reported_at: NOW - 100,
      },
      {
        lock_id: 1,
        host_id: 2,
        acquired_at: NOW - 5000,
        refreshed_at: NOW - 4000,
        fencing_token: 7,
        expires_at: NOW + 3_600_000,
        via_lock_id: null,
        stale_reported_at: null,
      },
    ]);
  });

  it('the locks work on: a third host gets the next token, a release keeps the other holder and its stale report', async () => {
    const store = seeded.store;
    const got = await store.hostRule({
      rule: 'acquire',
      ref: 'sem',
      host: { name: 'web03', autoRegister: false },
    });
    expect(got).toMatchObject({ ok: true, outcome: 'acquired' });
    expect(got.lock.holders.map((h) => [h.hostName, h.fencingToken])).toEqual([
      ['web01', 5],
      ['web02', 7],
      ['web03', 8],
    ]);
    const gone = await store.hostRule({
      rule: 'release',
      ref: 'sem',
      host: { name: 'web02', autoRegister: false },
    });
    expect(gone).toMatchObject({ ok: true, outcome: 'released' });
    const rows = numbers(
      await seeded.query(
        'SELECT host_id, fencing_token, stale_reported_at FROM lock_holders WHERE lock_id = 1 ORDER BY fencing_token',
      ),
    );
    expect(rows).toEqual([
      { host_id: 1, fencing_token: 5, stale_reported_at: NOW - 100 },
      { host_id: 3, fencing_token: 8, stale_reported_at: null },
    ]);
    const [count] = numbers(await seeded.query('SELECT holder_count FROM locks WHERE id = 1'));
    expect(count).toEqual({ holder_count: 2 });
    expect((await store.getLock('free'))?.holders).toEqual([]);
  });
});
