// PostgreSQL store: several keyholder instances share one database. Each write is one
// transaction on a pooled connection; the lock row is taken with SELECT … FOR UPDATE, so
// check-and-set is atomic across instances. Serialization failures and deadlocks are retried.
import pg from 'pg';
import { isUnavailableError } from '../health.js';
import { MIGRATIONS } from '../migrations/index.js';
import { SqlStore } from '../sql-store.js';
import { UniqueViolation, type Tx } from '../sql.js';
import { ChangeListener } from './listen.js';
import { encodeChangeNote } from '../change-note.js';
import { TABLES } from '../backup.js';
import type { Verdict } from '../../lock/host-rules.js';
import type { RejectReason } from '../../lock/rules.js';
import { numericId } from '../lock-sql.js';
import { toHolder, toLockState, type HolderRecord, type LockRecord } from '../lock-rows.js';
import { parseStoredHolders, type StoredHolder } from '../holders-json.js';
import type { Holder } from '../../lock/types.js';
import type { ForceReleaseOp, ForceReleaseResult, HostRuleOp, HostRuleResult } from '../store.js';
import { notHeldError } from '../../lock/force-release.js';

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

/** Connection-level failures pass through as they are: the store's guard makes them a 503. */
function translate(err: unknown): unknown {
  const e = err as { code?: string; constraint?: string };
  if (e.code === '23505') return new UniqueViolation(e.constraint ?? 'unique');
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
  /** how long to wait for a new connection before answering 503 (0: no limit) */
  connectTimeoutMs?: number;
}

export class PostgresStore extends SqlStore {
  readonly dialect = 'postgres' as const;
  protected readonly readsProveAvailability = true;
  readonly pool: pg.Pool;
  private readonly url: string;

  constructor(options: PostgresOptions) {
    super();
    this.url = options.url;
    this.pool = new pg.Pool({
      connectionString: options.url,
      // 16: concurrent commits share a WAL flush (bench/README.md, "Pool size")
      max: options.poolSize ?? 16,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      // TCP keepalive: a database host that vanished without a FIN is noticed, not waited on.
      keepAlive: true,
    });
    // A client whose connection dies emits 'error' — while idle (the pool listens then) and
    // while checked out (nobody would: the process would exit). Every client gets a listener
    // for its whole life; the failure reaches the caller through its query as well.
    this.pool.on('connect', (client) => client.on('error', (err) => this.health.failed(err)));
    this.pool.on('error', (err) => this.health.failed(err));
  }

  /**
   * A pooled client for `fn`, given back to the pool afterwards — or discarded when it saw a
   * connection error, so no later request gets a client that is "not queryable".
   */
  private async withClient<T>(
    fn: (client: pg.PoolClient, discard: () => void) => Promise<T>,
    connect: () => Promise<pg.PoolClient> = () => this.pool.connect(),
  ): Promise<T> {
    const client = await connect();
    let broken = false;
    try {
      return await fn(client, () => (broken = true));
    } catch (err) {
      if (isUnavailableError(err)) broken = true;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async migrate(): Promise<void> {
    await this.withClient((client) => this.migrateOn(client)).catch((err: unknown) => {
      throw explainConnectionError(err, this.url);
    });
  }

  private async migrateOn(client: pg.PoolClient): Promise<void> {
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
    }
  }

  private listener: ChangeListener | undefined;

  protected override async signal(tx: Tx, lockId: number, wake: number[] | undefined): Promise<void> {
    const note = encodeChangeNote({ lockId, wake, from: this.instanceId });
    await tx.get('SELECT pg_notify(?, ?)', [CHANGE_CHANNEL, note]);
  }

  protected override async signalEveryLock(tx: Tx): Promise<void> {
    const note = encodeChangeNote({ lockId: null, from: this.instanceId });
    await tx.get('SELECT pg_notify(?, ?)', [CHANGE_CHANNEL, note]);
  }

  protected override startListening(): void {
    this.listener ??= new ChangeListener(this.url, CHANGE_CHANNEL, {
      // This instance told its own waiters at commit; its own notification comes back too.
      onChange: (note) => {
        if (note === null) this.emitChange(null);
        else if (note.from !== this.instanceId) this.emitChange(note.lockId, note.wake);
      },
      onLost: (err) => this.health.notificationsLost(err),
      onRestored: () => this.health.notificationsRestored(),
    });
  }

  override async runExclusive(job: string, fn: () => Promise<void>): Promise<boolean> {
    const key = jobKey(job);
    // Only the advisory lock's own statements count for the database's health: `fn` makes its
    // own (guarded) calls, and may fail for reasons of its own. The lock lives as long as its
    // session: a client discarded after a connection error takes it along.
    return this.withClient(
      async (client) => {
        const got = await this.guard(
          () =>
            client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [JOB_LOCK_SPACE, key]),
          true,
        );
        if (!got.rows[0]?.ok) return false;
        try {
          await fn();
        } finally {
          await this.guard(
            () => client.query('SELECT pg_advisory_unlock($1, $2)', [JOB_LOCK_SPACE, key]),
            true,
          );
        }
        return true;
      },
      () => this.guard(() => this.pool.connect(), true),
    );
  }

  async close(): Promise<void> {
    await this.listener?.close();
    await this.pool.end();
  }

  protected async probe(): Promise<void> {
    await new PgTx(this.pool).all('SELECT 1');
  }

  protected async runWrite<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.withClient(async (client, discard) => {
        try {
          const begun = (await client.query(BEGIN_WITH_CLOCK)) as unknown as pg.QueryResult<{
            now: number;
          }>[];
          const tx = new PgTx(client, true, Number(begun[1]!.rows[0]!.now));
          const result = await fn(tx);
          // The deferred writes and COMMIT in one round trip; the first error aborts the rest.
          await client.query([...tx.deferred, 'COMMIT'].join(';\n'));
          return { done: true as const, result };
        } catch (err) {
          await rollback(client, err, discard);
          const code = (err as { code?: string }).code;
          if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) return { done: false as const };
          throw translate(err);
        }
      });
      if (outcome.done) return outcome.result;
    }
  }

  /**
   * The hot path: one call of the server-side rule (migration 6) in autocommit — one round
   * trip, its writes, its change note to the waiters (migration 15) and their commit included. NULL from it means "not for me" (see
   * src/store/migrations/host-rule.ts) and the general path runs.
   */
  override async hostRule(op: HostRuleOp): Promise<HostRuleResult> {
    const fast = await this.guard(() => this.callHostRule(op), true, 'write');
    return fast ?? super.hostRule(op);
  }

  private async callHostRule(op: HostRuleOp): Promise<HostRuleResult | undefined> {
    const out = await this.callFunction<ServerRuleAnswer>('keyholder_host_rule', [
      op.rule,
      op.ref,
      numericId(op.ref) ?? null,
      op.host.name,
      this.instanceId,
    ]);
    if (!out) return undefined;
    const lock = toLockState(out.lock, answeredHolders(out));
    // A lock with a queue: the function told the other instances (NOTIFY, from this one);
    // this instance's waiters hear it here, as runLockOp tells them after its commit.
    if (out.changed) this.emitChange(lock.id, out.wake ?? undefined);
    if (out.reason !== null) return { ok: false, reason: out.reason, lock, now: Number(out.now) };
    if (out.outcome === null) throw new Error('keyholder_host_rule answered neither outcome nor reason');
    return { ok: true, outcome: out.outcome, lock, now: Number(out.now) };
  }

  /**
   * One call of a server-side function (jsonb out) in autocommit, as a prepared statement;
   * undefined for its NULL. Deadlocks and serialization failures are retried, as for every
   * write transaction.
   */
  private async callFunction<T>(name: string, values: unknown[]): Promise<T | undefined> {
    const text = `SELECT ${name}(${values.map((_, i) => `$${i + 1}`).join(', ')}) AS out`;
    for (let attempt = 1; ; attempt++) {
      try {
        const { rows } = await this.withClient((client) =>
          client.query<{ out: T | null }>({ name, text, values }),
        );
        return rows[0]?.out ?? undefined;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
        throw translate(err);
      }
    }
  }

  /**
   * An operator's force release of a flat lock as one call of the server-side function
   * (migration 16); NULL from it (a nested lock, a missing one, a queue whose calendar decides
   * whom to wake) runs the general path.
   */
  override async forceRelease(op: ForceReleaseOp): Promise<ForceReleaseResult | 'via_child' | undefined> {
    const out = await this.guard(() => this.callForceRelease(op), true, 'write');
    if (!out) return super.forceRelease(op);
    if (out.error === 'not_held') throw notHeldError(op.hostName ?? '', out.name);
    const lock = toLockState(out.lock, out.holders.map(toHolder), out.members);
    // an operator's action: the event stream shows it at once, as after any general write
    this.committed();
    if (out.changed) this.emitChange(lock.id, out.wake ?? undefined);
    return { lock, now: Number(out.now) };
  }

  private callForceRelease(op: ForceReleaseOp): Promise<ForceReleaseAnswer | undefined> {
    return this.callFunction<ForceReleaseAnswer>('keyholder_force_release', [
      op.ref,
      numericId(op.ref) ?? null,
      op.hostName ?? null,
      op.reason,
      op.actor.user?.id ?? null,
      op.actor.user?.login ?? null,
      op.audit.userId,
      op.audit.login,
      op.audit.address,
      this.instanceId,
    ]);
  }

  protected async runSnapshot<T>(fn: (q: Tx) => Promise<T>): Promise<T> {
    return this.withClient(async (client, discard) => {
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const result = await fn(new PgTx(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await rollback(client, err, discard);
        throw translate(err);
      }
    });
  }

  protected override async afterImport(tx: Tx): Promise<void> {
    for (const spec of TABLES.filter((t) => t.identity)) {
      await tx.get(
        `SELECT setval(pg_get_serial_sequence('${spec.name}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM ${spec.name}`,
      );
    }
  }

  protected override async refreshStatistics(): Promise<void> {
    // VACUUM as well: it sets the visibility map, so counting 100k locks is an index-only scan
    // (list p50 at 100k: 67 ms as loaded, 31 ms analysed, 19 ms vacuumed; 1k: 11 ms). Outside
    // any transaction, as VACUUM must be; tables of another owner are skipped with a notice.
    await this.pool.query('VACUUM (ANALYZE)');
  }

  protected async runRead<T>(fn: (q: Tx) => Promise<T>): Promise<T> {
    return fn(new PgTx(this.pool));
  }
}

/** What keyholder_host_rule returns (jsonb): the verdict, the lock row and its holders. */
interface ServerRuleAnswer {
  outcome: Extract<Verdict, { ok: true }>['outcome'] | null;
  reason: RejectReason | null;
  now: number;
  lock: LockRecord;
  /** the holders as rows, or (with `names`) as stored in the lock row */
  holders: HolderRecord[] | StoredHolder[];
  /** the stored holders' host names, in their order (several holders: migration 17) */
  names?: string[];
  /** set when the change may let a queued waiter in (migration 15) */
  changed?: true;
  /** with `changed`: the waiters at the head that may now get in; null: every waiter */
  wake?: number[] | null;
}

/** The holders of a host rule's answer, whichever of its two shapes it has. */
function answeredHolders(out: ServerRuleAnswer): Holder[] {
  const { names } = out;
  if (names === undefined) return (out.holders as HolderRecord[]).map(toHolder);
  return parseStoredHolders(out.holders).map((h, i) => ({
    hostId: h.host_id,
    hostName: names[i]!,
    acquiredAt: h.acquired_at,
    refreshedAt: h.refreshed_at,
    fencingToken: h.fencing_token,
    expiresAt: h.expires_at,
  }));
}

/** What keyholder_force_release returns (jsonb): the lock afterwards, or why nothing was done. */
type ForceReleaseAnswer =
  | { error: 'not_held'; name: string }
  | {
      error?: undefined;
      outcome: 'released' | 'not_held';
      now: number;
      members: number;
      lock: LockRecord;
      holders: HolderRecord[];
      changed?: true;
      wake?: number[] | null;
    };

/**
 * Ends a failed transaction. A client whose connection failed is not asked (it cannot answer);
 * when the ROLLBACK itself fails, the connection is in an unknown state and is discarded.
 */
async function rollback(client: pg.PoolClient, cause: unknown, discard: () => void): Promise<void> {
  if (isUnavailableError(cause)) return;
  await client.query('ROLLBACK').catch(discard);
}

/** A stable 32-bit key for a job name. */
function jobKey(job: string): number {
  let h = 0;
  for (const c of job) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}
