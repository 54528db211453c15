// better-sqlite3 behind the async Tx surface. Calls are synchronous underneath; the promises
// only let the shared store logic be written once for both dialects.
import type Database from 'better-sqlite3';
import { UniqueViolation, type Tx } from '../sql.js';

type Statement = Database.Statement<unknown[], unknown>;

/**
 * SQLite binds no booleans: store them as 1/0 like SQLite's own BOOLEAN affinity does. Most
 * statements bind none, and get their array back as it is (better-sqlite3 binds an array's
 * elements as the anonymous parameters, so no spread either).
 */
function bindable(params: unknown[]): unknown[] {
  for (const p of params) {
    if (typeof p === 'boolean') return params.map((q) => (typeof q === 'boolean' ? (q ? 1 : 0) : q));
  }
  return params;
}

function translate(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new UniqueViolation((err as Error).message);
  }
  return err;
}

export class SqliteTx implements Tx {
  readonly dialect = 'sqlite' as const;
  readonly forUpdate = '';
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Database.Database) {}

  private prepare(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  allSync<R>(sql: string, params: unknown[] = []): R[] {
    try {
      return this.prepare(sql).all(bindable(params)) as R[];
    } catch (err) {
      throw translate(err);
    }
  }

  async all<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    return this.allSync<R>(sql, params);
  }

  async get<R>(sql: string, params: unknown[] = []): Promise<R | undefined> {
    const stmt = this.prepare(sql);
    try {
      return (stmt.reader ? stmt.get(bindable(params)) : (stmt.run(bindable(params)), undefined)) as
        R | undefined;
    } catch (err) {
      throw translate(err);
    }
  }

  /** SQLite statements cost no round trip: run it now. */
  async defer(sql: string, params: unknown[] = []): Promise<void> {
    this.runSync(sql, params);
  }

  async run(sql: string, params: unknown[] = []): Promise<{ changes: number }> {
    return { changes: this.runSync(sql, params) };
  }

  /** Runs a statement; returns the number of rows it changed. */
  private runSync(sql: string, params: unknown[]): number {
    try {
      const stmt = this.prepare(sql);
      // INSERT … RETURNING must be stepped through `all` to complete
      return stmt.reader ? stmt.all(bindable(params)).length : stmt.run(bindable(params)).changes;
    } catch (err) {
      throw translate(err);
    }
  }

  async now(): Promise<number> {
    // The database file lives on this machine: its clock is the process' clock.
    return Date.now();
  }
}
