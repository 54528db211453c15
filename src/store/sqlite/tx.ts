// better-sqlite3 behind the async Tx surface. Calls are synchronous underneath; the promises
// only let the shared store logic be written once for both dialects.
import type Database from 'better-sqlite3';
import { UniqueViolation, type Tx } from '../sql.js';

type Statement = Database.Statement<unknown[], unknown>;

/** SQLite binds no booleans: store them as 1/0 like SQLite's own BOOLEAN affinity does. */
function bindable(params: unknown[]): unknown[] {
  return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
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
      return this.prepare(sql).all(...bindable(params)) as R[];
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
      return (stmt.reader ? stmt.get(...bindable(params)) : (stmt.run(...bindable(params)), undefined)) as
        R | undefined;
    } catch (err) {
      throw translate(err);
    }
  }

  /** SQLite statements cost no round trip: run it now. */
  async defer(sql: string, params: unknown[] = []): Promise<void> {
    await this.run(sql, params);
  }

  async run(sql: string, params: unknown[] = []): Promise<{ changes: number }> {
    try {
      const stmt = this.prepare(sql);
      if (stmt.reader) {
        // INSERT … RETURNING must be stepped through `all` to complete
        return { changes: stmt.all(...bindable(params)).length };
      }
      return { changes: stmt.run(...bindable(params)).changes };
    } catch (err) {
      throw translate(err);
    }
  }

  async now(): Promise<number> {
    // The database file lives on this machine: its clock is the process' clock.
    return Date.now();
  }
}
