// PostgreSQL store: several keyholder instances share one database. Each write is one
// transaction on a pooled connection; the lock row is taken with SELECT … FOR UPDATE, so
// check-and-set is atomic across instances. Serialization failures and deadlocks are retried.
import pg from 'pg';
import { AppError } from '../../errors.js';
import { MIGRATIONS } from '../migrations/index.js';
import { SqlStore } from '../sql-store.js';
import { UniqueViolation, type Tx } from '../sql.js';
import { ChangeListener } from './listen.js';
import { TABLES } from '../backup.js';

// int8 (COUNT, BIGINT columns) as numbers: every value keyholder stores fits in 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/** An arbitrary fixed key: the advisory lock that serialises migrations across instances. */
const MIGRATION_LOCK_KEY = 0x6b6579686f6c64; // "keyhold"
/** Periodic jobs take advisory locks in their own key space (two-int form) so one instance runs each. */
const JOB_LOCK_SPACE = 0x6b6864;
const CHANGE_CHANNEL = 'keyholder_lock_changed';
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

const placeholderCache = new Map<string, string>();

/** Statements are written with `?`; PostgreSQL numbers its parameters. */
function numbered(sql: string): string {
  let out = placeholderCache.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    placeholderCache.set(sql, out);
  }
  return out;
}

function translate(err: unknown): unknown {
  const e = err as { code?: string; constraint?: string };
  if (e.code === '23505') return new UniqueViolation(e.constraint ?? 'unique');
  // Connection-level failures (database restarting, network): tell the client to retry.
  if (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === '57P01' || e.code === '57P03') {
    return new AppError('unavailable');
  }
  return err;
}

/**
 * pg's words for "the server wants a password and none was given" name neither the setting nor
 * the user; this is the first connection at start, so say what to set.
 */
function explainConnectionError(err: unknown, url: string): unknown {
  const message = String(err);
  const user = decodeURIComponent(new URL(url).username) || '(the login user)';
  if (/client password must be a string|no password supplied/.test(message)) {
    return new Error(
      `PostgreSQL asks for a password for user ${user} and none is configured: set ` +
        'KEYHOLDER_DATABASE_PASSWORD_FILE (a file holding it; config database.password), or put it in database.url',
    );
  }
  if (/password authentication failed/.test(message)) {
    return new Error(
      `PostgreSQL refused the password of user ${user}: check KEYHOLDER_DATABASE_PASSWORD_FILE ` +
        '(config database.password) or the password in database.url',
    );
  }
  return err;
}

/**
 * Write transactions use named (prepared) statements: PostgreSQL parses and plans each once per
 * connection instead of on every lock operation. Capped, because every name stays prepared on
 * every pooled connection for its lifetime.
 */
const preparedNames = new Map<string, string>();
const MAX_PREPARED = 200;

function query(sql: string, params: unknown[], prepared: boolean): pg.QueryConfig {
  const text = numbered(sql);
  if (!prepared) return { text, values: params };
  let name = preparedNames.get(sql);
  if (name === undefined && preparedNames.size < MAX_PREPARED) {
    name = `kh${preparedNames.size}`;
    preparedNames.set(sql, name);
  }
  return name === undefined ? { text, values: params } : { name, text, values: params };
}

class PgTx implements Tx {
  readonly dialect = 'postgres' as const;
  readonly forUpdate = ' FOR UPDATE';

  constructor(
    private readonly client: pg.PoolClient | pg.Pool,
    private readonly prepared = false,
    /** the clock read with BEGIN; the first now() of the transaction returns it */
    private startedAt?: number,
  ) {}

  async all<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.client.query(query(sql, params, this.prepared))).rows as R[];
    } catch (err) {
      throw translate(err);
    }
  }

  async get<R>(sql: string, params: unknown[] = []): Promise<R | undefined> {
    return (await this.all<R>(sql, params))[0];
  }

  async run(sql: string, params: unknown[] = []): Promise<{ changes: number }> {
    try {
      return { changes: (await this.client.query(query(sql, params, this.prepared))).rowCount ?? 0 };
    } catch (err) {
      throw translate(err);
    }
  }

  /** deferred writes, sent with COMMIT as one simple-protocol query */
  readonly deferred: string[] = [];

  async defer(sql: string, params: unknown[] = []): Promise<void> {
    this.deferred.push(inlineParameters(sql, params));
  }

  async now(): Promise<number> {
    if (this.startedAt !== undefined) {
      const first = this.startedAt;
      this.startedAt = undefined;
      return first;
    }
    const row = await this.get<{ now: number }>(`SELECT ${CLOCK} AS now`);
    return Number(row!.now);
  }
}

/**
 * A statement with its parameters written in as literals, for the simple query protocol (the
 * only one that takes several statements at once). Strings go through pg's own escaping.
 */
function inlineParameters(sql: string, params: unknown[]): string {
  const parts = sql.split('?');
  if (parts.length !== params.length + 1) throw new Error(`expected ${parts.length - 1} parameters`);
  return parts.reduce((out, part, i) => (i === 0 ? part : out + literal(params[i - 1]) + part), '');
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} to the database`);
    return String(value);
  }
  if (typeof value === 'string') return pg.escapeLiteral(value);
  throw new Error(`cannot write a ${typeof value} as an SQL literal`);
}

/** clock_timestamp, not now(): now() is frozen at the transaction's start. */
const CLOCK = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
/** BEGIN and the clock in one round trip: every write transaction starts by reading the time. */
const BEGIN_WITH_CLOCK = `BEGIN; SELECT ${CLOCK} AS now`;

export interface PostgresOptions {
  url: string;
  poolSize?: number;
  onError?: (err: Error) => void;
}

export class PostgresStore extends SqlStore {
  readonly dialect = 'postgres' as const;
  readonly pool: pg.Pool;
  private readonly url: string;

  constructor(options: PostgresOptions) {
    super();
    this.url = options.url;
    this.pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    // An idle client losing its connection (database restart) must not crash the process.
    this.pool.on('error', (err) => options.onError?.(err));
  }

  async migrate(): Promise<void> {
    const client = await this.pool.connect().catch((err: unknown) => {
      throw explainConnectionError(err, this.url);
    });
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const applied = new Set(
        (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
          (r) => r.version,
        ),
      );
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.postgres);
          await client.query(
            'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
            [m.version, m.name, Date.now()],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
      client.release();
    }
  }

  private listener: ChangeListener | undefined;

  protected override async signal(tx: Tx, lockId: number): Promise<void> {
    await tx.get('SELECT pg_notify(?, ?)', [CHANGE_CHANNEL, String(lockId)]);
  }

  protected override startListening(): void {
    this.listener ??= new ChangeListener(this.url, CHANGE_CHANNEL, (lockId) => this.emitChange(lockId));
  }

  override async runExclusive(job: string, fn: () => Promise<void>): Promise<boolean> {
    const client = await this.pool.connect();
    const key = jobKey(job);
    try {
      const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        JOB_LOCK_SPACE,
        key,
      ]);
      if (!got.rows[0]?.ok) return false;
      try {
        await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, $2)', [JOB_LOCK_SPACE, key]);
      }
      return true;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.listener?.close();
    await this.pool.end();
  }

  async ping(): Promise<void> {
    await new PgTx(this.pool).all('SELECT 1');
  }

  protected async write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw translate(err);
      }
      let broken = false;
      try {
        const begun = (await client.query(BEGIN_WITH_CLOCK)) as unknown as pg.QueryResult<{ now: number }>[];
        const tx = new PgTx(client, true, Number(begun[1]!.rows[0]!.now));
        const result = await fn(tx);
        // The deferred writes and COMMIT in one round trip; the first error aborts the rest.
        await client.query([...tx.deferred, 'COMMIT'].join(';\n'));
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
        throw translate(err);
      } finally {
        client.release(broken);
      }
    }
  }

  protected async snapshot<T>(fn: (q: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((err: unknown) => {
      throw translate(err);
    });
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await fn(new PgTx(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw translate(err);
    } finally {
      client.release();
    }
  }

  protected override async afterImport(tx: Tx): Promise<void> {
    for (const spec of TABLES.filter((t) => t.identity)) {
      await tx.get(
        `SELECT setval(pg_get_serial_sequence('${spec.name}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM ${spec.name}`,
      );
    }
  }

  protected async read<T>(fn: (q: Tx) => Promise<T>): Promise<T> {
    return fn(new PgTx(this.pool));
  }
}

/** A stable 32-bit key for a job name. */
function jobKey(job: string): number {
  let h = 0;
  for (const c of job) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}
