// The embedded store: one SQLite file in WAL mode with durable commits (synchronous=FULL),
// a writer connection fed by group commit and a separate reader connection that only ever
// sees committed data.
import Database from 'better-sqlite3';
import { closeSync, fdatasync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeHeartbeat } from '../instances-sql.js';
import { MIGRATIONS } from '../migrations/index.js';
import { SqlStore } from '../sql-store.js';
import type { Tx } from '../sql.js';
import type { HostRuleOp, HostRuleResult } from '../store.js';
import { GroupCommit } from './group-commit.js';
import { SqliteHostRule } from './host-rule.js';
import { LockCache } from './lock-cache.js';
import { SqliteTx } from './tx.js';

function open(file: string, readonly: boolean): Database.Database {
  const db = new Database(file, { readonly });
  db.pragma('busy_timeout = 5000');
  if (!readonly) {
    db.pragma('journal_mode = WAL');
    // NORMAL: COMMIT does not fsync; the store fdatasyncs the log itself, off the event loop,
    // before any caller hears of the commit — as durable as FULL (power loss, kill -9).
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
  }
  return db;
}

/**
 * What the readiness probe writes while the disk was full: room for a few commits with their WAL
 * frames (64 KiB passed while SQLite still failed to grow its WAL, seen in the chaos run).
 */
const SPACE_PROBE_BYTES = 256 * 1024;

export class SqliteStore extends SqlStore {
  readonly dialect = 'sqlite' as const;
  protected readonly readsProveAvailability = false;
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
    this.commits = new GroupCommit(this.writer, this.writeTx, () => this.syncLog(), undefined, {
      begun: () => this.forgetIfOthersWrote(),
      jobFailed: () => this.lockReads.clear(),
      failed: () => this.lockReads.clear(),
    });
    this.fastRule = new SqliteHostRule(this.writer, this.lockReads);
  }

  /** The writer's memory of the lock state (src/store/sqlite/lock-cache.ts). */
  protected override readonly lockReads = new LockCache();

  /** a host's acquire and release decided on the writer's memory (src/store/sqlite/host-rule.ts) */
  protected readonly fastRule: SqliteHostRule;

  /**
   * The steady state takes the fast path, as one job of the group commit; everything else, and
   * whatever the fast path finds it does not cover once in the transaction, the general one.
   */
  override async hostRule(op: HostRuleOp): Promise<HostRuleResult> {
    if (this.fastRule.covers(op)) {
      const done = await this.write(async () => this.fastRule.run(op), true);
      if (done) return done;
    }
    return super.hostRule(op);
  }

  /** PRAGMA data_version as this connection last saw it: it changes when another connection commits. */
  private dataVersion: number | undefined;
  private dataVersionQuery: Database.Statement | undefined;

  /**
   * Two servers on one file are tolerated: when another connection committed since this one's
   * last batch, what this writer remembers may be out of date.
   */
  private forgetIfOthersWrote(): void {
    // prepared once: `pragma()` would prepare its statement again for every batch
    this.dataVersionQuery ??= this.writer.prepare('PRAGMA data_version').pluck();
    const version = Number(this.dataVersionQuery.get());
    if (version !== this.dataVersion) this.lockReads.clear();
    this.dataVersion = version;
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

  private logFd: number | undefined;

  /** fdatasync of the write-ahead log on libuv's thread pool: what synchronous=FULL does at COMMIT */
  private syncLog(): Promise<void> {
    this.logFd ??= openSync(`${this.file}-wal`, 'r');
    const fd = this.logFd;
    return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    await this.commits.drain();
    if (this.logFd !== undefined) closeSync(this.logFd);
    this.reader?.close();
    this.writer.close();
    this.serverLock?.close();
  }

  /**
   * Reads work on a full disk, so readiness asks more while an outage is on: can the data
   * directory take a real write again (SPACE_PROBE_BYTES, synced, then removed)?
   */
  protected async probe(): Promise<void> {
    this.readTx().allSync('SELECT 1');
    if (!this.health.isDown) return;
    const scratch = join(dirname(this.file), '.keyholder-space-probe');
    try {
      const fd = openSync(scratch, 'w');
      try {
        writeSync(fd, Buffer.alloc(SPACE_PROBE_BYTES));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } finally {
      rmSync(scratch, { force: true });
    }
  }

  private serverLock: Database.Database | undefined;

  /**
   * One server per SQLite file is the supported setup; a server that holds this file lock is
   * sure no other server runs on the file, so queue entries of earlier runs are ghosts. The
   * lock is SQLite's own (exclusive locking mode on a side file): the OS drops it when the
   * process dies, even by kill -9. Not got (another server on the file): heartbeats decide.
   */
  protected override async claimSoleServer(): Promise<boolean> {
    if (this.serverLock) return true;
    const lock = new Database(`${this.file}-server-lock`);
    try {
      lock.pragma('busy_timeout = 0');
      lock.pragma('locking_mode = EXCLUSIVE');
      lock.exec('BEGIN EXCLUSIVE; COMMIT');
      this.serverLock = lock;
      return true;
    } catch {
      lock.close();
      return false;
    }
  }

  /**
   * A heartbeat every few seconds must not cost the writer its memory of every lock and host
   * (a fleet polls less often than that). Past the first (which may clear earlier runs' queue
   * entries), it writes only instance leases: the cache forgets just those, once the
   * statements succeeded; a failed batch still drops everything.
   */
  override async heartbeat(leaseMs: number, firstRun = false): Promise<void> {
    if (firstRun) return super.heartbeat(leaseMs, true);
    await this.write(async (tx) => {
      await writeHeartbeat(tx, this.instanceId, leaseMs, false);
      this.lockReads.instancesChanged();
    }, true);
  }

  protected runWrite<T>(fn: (tx: Tx) => Promise<T>, lockOp = false): Promise<T> {
    if (lockOp) return this.commits.run(fn);
    // Any other write may change what the lock operations read: forget it (the job runs alone
    // in its turn of the batch, so no lock operation reads in between).
    return this.commits.run(async (tx) => {
      try {
        return await fn(tx);
      } finally {
        this.lockReads.clear();
      }
    });
  }

  protected async runRead<T>(fn: (q: Tx) => Promise<T>): Promise<T> {
    return fn(this.readTx());
  }

  protected async runSnapshot<T>(fn: (q: Tx) => Promise<T>): Promise<T> {
    const tx = this.readTx();
    // A read transaction on the reader connection: every statement sees the same commit.
    this.reader!.exec('BEGIN');
    try {
      return await fn(tx);
    } finally {
      this.reader!.exec('COMMIT');
    }
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
