// The same integration tests run against every store (like kysely's tests over dialects):
// a fresh SQLite file, and a fresh PostgreSQL database cloned from the migrated template.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';

export type StoreKind = 'sqlite' | 'postgres';
export const STORES: StoreKind[] = ['sqlite', 'postgres'];

export interface TestDatabase {
  kind: StoreKind;
  /** a postgres:// URL, or the SQLite data directory */
  url?: string;
  dataDir: string;
  open(): Store;
  dispose(): Promise<void>;
}

let counter = 0;

export async function createTestDatabase(kind: StoreKind): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyholder-test-'));
  if (kind === 'sqlite') {
    return {
      kind,
      dataDir,
      open: () => new SqliteStore(join(dataDir, 'keyholder.sqlite')),
      dispose: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const base = inject('pgBaseUrl');
  const name = `kh_${process.pid}_${Date.now()}_${counter++}`;
  const admin = new pg.Client({ connectionString: `${base}postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE keyholder_template`);
  await admin.end();
  const url = `${base}${name}`;
  return {
    kind,
    url,
    dataDir,
    open: () => new PostgresStore({ url }),
    dispose: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: `${base}postgres` });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
