// The small SQL surface both stores offer to the shared store logic. Statements are written
// once with `?` placeholders; each dialect adapts placeholders, booleans and the clock.

export type Dialect = 'sqlite' | 'postgres';

export interface Queryable {
  readonly dialect: Dialect;
  all<R>(sql: string, params?: unknown[]): Promise<R[]>;
  get<R>(sql: string, params?: unknown[]): Promise<R | undefined>;
  run(sql: string, params?: unknown[]): Promise<{ changes: number }>;
}

export interface Tx extends Queryable {
  /** the database's clock in epoch milliseconds; several instances agree on it */
  now(): Promise<number>;
  /** `FOR UPDATE` where the dialect has row locks; SQLite's write transaction already excludes others */
  readonly forUpdate: string;
  /**
   * A write whose result nobody reads and that cannot violate a constraint the caller wants to
   * answer for (event rows, holder rows): the dialect may send it together with the COMMIT
   * (PostgreSQL: one round trip for all of them) — an error still fails the transaction.
   */
  defer(sql: string, params?: unknown[]): Promise<void>;
}

/** How a family of store statements gets a transaction (write) or a committed read from the store. */
export type Run = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

/** Thrown by a dialect when a UNIQUE constraint rejects a write, so callers can answer 422. */
export class UniqueViolation extends Error {
  constructor(readonly constraint: string) {
    super(`unique constraint violated: ${constraint}`);
  }
}
