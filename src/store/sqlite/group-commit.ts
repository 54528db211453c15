// Group commit: write transactions that arrive in the same turn of the event loop share one
// SQLite transaction and so one fsync. Each job runs in its own SAVEPOINT, so a job that
// throws is rolled back alone; every caller is answered only after the shared COMMIT is durable.
// The fsync itself (`durable`) runs off the event loop: while one batch's log is being synced,
// the next batch already runs, and answers still go out in commit order.
import type Database from 'better-sqlite3';
import type { SqliteTx } from './tx.js';

/** What the owner of the connection hears of a batch (src/store/sqlite/lock-cache.ts). */
export interface BatchHooks {
  /** inside BEGIN IMMEDIATE, before the first job */
  begun?(): void;
  /** a job threw and was rolled back to its savepoint */
  jobFailed?(): void;
  /** the batch's COMMIT or its log sync failed */
  failed?(): void;
}

interface Job {
  fn: (tx: SqliteTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

/**
 * The batch's transaction control, prepared once: `exec` would parse the text again on every
 * call, and a batch runs two of these per job.
 */
class Control {
  readonly begin: Database.Statement;
  readonly savepoint: Database.Statement;
  readonly release: Database.Statement;
  readonly rollbackToSavepoint: Database.Statement;
  readonly commit: Database.Statement;

  constructor(db: Database.Database) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.savepoint = db.prepare('SAVEPOINT job');
    this.release = db.prepare('RELEASE job');
    this.rollbackToSavepoint = db.prepare('ROLLBACK TO job');
    this.commit = db.prepare('COMMIT');
  }
}

export class GroupCommit {
  private queue: Job[] = [];
  private readonly control: Control;
  private scheduled = false;
  private closed = false;

  /** resolves once everything committed so far is on stable storage */
  private synced: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database.Database,
    private readonly tx: SqliteTx,
    private readonly durable: () => Promise<void>,
    private readonly maxBatch = 256,
    private readonly hooks: BatchHooks = {},
  ) {
    this.control = new Control(db);
  }

  run<T>(fn: (tx: SqliteTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Waits for queued work, then refuses new work. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled) await new Promise((r) => setImmediate(r));
    this.closed = true;
    await this.synced;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after the current I/O phase: every request parsed in it joins the batch.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    // One log sync at a time: what arrives while it runs forms the next, larger batch.
    await this.synced.catch(() => undefined);
    const batch = this.queue.splice(0, this.maxBatch);
    const control = this.control;
    try {
      control.begin.run();
    } catch (err) {
      for (const job of batch) job.reject(err);
      this.finish();
      return;
    }
    try {
      this.hooks.begun?.();
      for (const job of batch) {
        control.savepoint.run();
        try {
          // Jobs await only the synchronous SqliteTx, so no other work interleaves here.
          job.outcome = { ok: true, value: await job.fn(this.tx) };
          control.release.run();
        } catch (error) {
          this.hooks.jobFailed?.();
          control.rollbackToSavepoint.run();
          control.release.run();
          job.outcome = { ok: false, error };
        }
      }
      control.commit.run();
    } catch (err) {
      // A full disk or an I/O error (SQLITE_FULL, SQLITE_IOERR) may strike at any statement
      // that writes pages, COMMIT included: the whole batch fails, the process goes on.
      this.rollbackQuietly();
      this.hooks.failed?.();
      for (const job of batch) job.reject(err);
      this.finish();
      return;
    }
    // Chained, so a batch is answered only after every earlier batch was answered, too.
    const previous = this.synced;
    this.synced = previous
      .then(() => this.durable())
      .then(
        () => {
          for (const job of batch) {
            if (job.outcome?.ok) job.resolve(job.outcome.value);
            else job.reject(job.outcome?.error);
          }
        },
        (err: unknown) => {
          this.hooks.failed?.();
          // Not durable: nobody may be told their change happened.
          for (const job of batch) job.reject(err);
        },
      );
    this.finish();
  }

  private rollbackQuietly(): void {
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      // SQLite rolled back by itself (it does after SQLITE_FULL during COMMIT)
    }
  }

  private finish(): void {
    this.scheduled = false;
    if (this.queue.length > 0) this.schedule();
  }
}
