// The embedded store: one SQLite file in WAL mode with durable commits (synchronous=FULL),
// a writer connection fed by group commit and a separate reader connection that only ever
// sees committed data.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from '../migrations/index.js';
import { SqlStore } from '../sql-store.js';
import type { Tx } from '../sql.js';
import { GroupCommit } from './group-commit.js';
import { SqliteTx } from './tx.js';

function open(file: string, readonly: boolean): Database.Database {
  const db = new Database(file, { readonly });
  db.pragma('busy_timeout = 5000');
  if (!readonly) {
    db.pragma('journal_mode = WAL');
    // FULL: an acknowledged commit survives power loss and kill -9, not only process crashes.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
  }
  return db;
}

export class SqliteStore extends SqlStore {
  readonly dialect = 'sqlite' as const;
  private readonly writer: Database.Database;
  private reader: Database.Database | undefined;
  private readonly writeTx: SqliteTx;
  private readerTx: SqliteTx | undefined;
  private readonly commits: GroupCommit;

  constructor(readonly file: string) {
    super();
    mkdirSync(dirname(file), { recursive: true });
    this.writer = open(file, false);
    this.writeTx = new SqliteTx(this.writer);
    this.commits = new GroupCommit(this.writer, this.writeTx);
  }

  async migrate(): Promise<void> {
    this.writer.exec('BEGIN IMMEDIATE');
    try {
      this.writer.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const applied = new Set(
        this.writer
          .prepare('SELECT version FROM schema_migrations')
          .all()
          .map((r) => (r as { version: number }).version),
      );
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        this.writer.exec(m.sqlite);
        this.writer
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(m.version, m.name, Date.now());
      }
      this.writer.exec('COMMIT');
    } catch (err) {
      this.writer.exec('ROLLBACK');
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.commits.drain();
    this.reader?.close();
    this.writer.close();
  }

  async ping(): Promise<void> {
    this.readTx().allSync('SELECT 1');
  }

  protected write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.commits.run(fn);
  }

  protected async read<T>(fn: (q: Tx) => Promise<T>): Promise<T> {
    return fn(this.readTx());
  }

  private readTx(): SqliteTx {
    // Opened lazily: a read-only connection needs the WAL files the writer creates.
    if (!this.readerTx) {
      this.reader = open(this.file, true);
      this.readerTx = new SqliteTx(this.reader);
    }
    return this.readerTx;
  }
}
