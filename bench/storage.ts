// Storage ceilings: how many durable single-UPDATE transactions the database itself commits per
// second with no HTTP in front, i.e. what keyholder would reach if it did nothing but commit.
import Database from 'better-sqlite3';
import pg from 'pg';
import { performance } from 'node:perf_hooks';

export interface StorageResult {
  name: string;
  durability: string;
  opsPerSec: number;
  ops: number;
  seconds: number;
  errors: number;
}

/** One tiny UPDATE per transaction, WAL, synchronous=FULL: one fsync per commit. */
export function sqliteCommits(file: string, warmupMs: number, measureMs: number): StorageResult {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
    db.exec('INSERT OR IGNORE INTO counter (id, n) VALUES (1, 0)');
    const begin = db.prepare('BEGIN IMMEDIATE');
    const update = db.prepare('UPDATE counter SET n = n + 1 WHERE id = 1');
    const commit = db.prepare('COMMIT');
    const once = () => {
      begin.run();
      update.run();
      commit.run();
    };
    const warmEnd = performance.now() + warmupMs;
    while (performance.now() < warmEnd) once();
    let ops = 0;
    const t0 = performance.now();
    const end = t0 + measureMs;
    while (performance.now() < end) {
      once();
      ops++;
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      name: 'SQLite durable commits (1 UPDATE/tx)',
      durability: 'fdatasync per commit (WAL, synchronous=FULL)',
      opsPerSec: ops / seconds,
      ops,
      seconds,
      errors: 0,
    };
  } finally {
    db.close();
  }
}

/** `connections` clients, each committing single-UPDATE transactions on its own row. */
export async function pgTransactions(
  url: string,
  connections: number,
  warmupMs: number,
  measureMs: number,
): Promise<StorageResult> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query('CREATE TABLE IF NOT EXISTS bench_counter (id integer PRIMARY KEY, n bigint NOT NULL)');
  await admin.query(
    'INSERT INTO bench_counter (id, n) SELECT g, 0 FROM generate_series(1, $1) g ON CONFLICT DO NOTHING',
    [connections],
  );
  await admin.end();

  const clients = Array.from({ length: connections }, () => new pg.Client({ connectionString: url }));
  await Promise.all(clients.map((c) => c.connect()));
  let measuring = false;
  let stopping = false;
  let ops = 0;
  let errors = 0;
  const loops = clients.map(async (c, i) => {
    while (!stopping) {
      try {
        // autocommit: each statement is its own transaction (and, with fsync on, its own commit)
        await c.query('UPDATE bench_counter SET n = n + 1 WHERE id = $1', [i + 1]);
        if (measuring) ops++;
      } catch {
        if (measuring) errors++;
      }
    }
  });
  await new Promise((r) => setTimeout(r, warmupMs));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, measureMs));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  stopping = true;
  await Promise.all(loops);
  await Promise.all(clients.map((c) => c.end()));
  return {
    name: `PostgreSQL 1-UPDATE transactions, ${connections} connections`,
    durability: 'fsync=on, synchronous_commit=on',
    opsPerSec: ops / seconds,
    ops,
    seconds,
    errors,
  };
}
