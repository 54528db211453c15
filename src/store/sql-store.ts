// The store both dialects share: transactions with the outage guard and timings, the change
// signals, and each family composed from its own file (locks' reads and lists in
// lock-catalog.ts, lock operations in lock-op/, the global pause, instances, import/export…).
// Subclasses only provide transactions (`write`), reads, migrations and connection handling;
// every statement is dialect-neutral.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Pause } from '../lock/calendar.js';
import type { Actor, HostRef, LockState } from '../lock/types.js';
import { Accounts } from './accounts.js';
import { AuditTrail } from './audit.js';
import type { ExportDocument } from './backup.js';
import { LockEvents } from './events.js';
import { GateStates } from './gate-states.js';
import { changeGlobalPause, readGlobalPauseNow } from './global-pause.js';
import { StoreHealth, isUnavailableError, unavailable } from './health.js';
import { HostDirectory } from './hosts.js';
import { readExpiredLockIds, retireInstanceRows, writeHeartbeat } from './instances-sql.js';
import { insertLock, readLock, readLockList } from './lock-catalog.js';
import { importLockSet, type LockImport, type LockImportCounts } from './lock-import.js';
import { forceReleaseByLockOp } from './force-release.js';
import {
  NoSuchLock,
  findOrCreateLock,
  readLockOpState,
  type HostRequest,
  type LockOpRequest,
} from './lock-op/context.js';
import { lockAfter } from './lock-op/family.js';
import { hostRuleDecision } from './lock-op/host-rule.js';
import { levelsToSignal, signalBelow, wakeHead, whoToWake, type Signal } from './lock-op/wake.js';
import {
  countMembersAfter,
  deleteLapsed,
  writeAncestors,
  writeChange,
  writeDeletion,
  writesOf,
  writesOfDeletion,
} from './lock-op/write.js';
import { DATABASE_READS, type LockReads } from './lock-reads.js';
import { LockMembers } from './members.js';
import { Overview } from './overview.js';
import type { Tx } from './sql.js';
import { readDiagnosis, readLockStats } from './stats.js';
import type {
  AuditActor,
  ForceReleaseOp,
  ForceReleaseResult,
  HostIdentity,
  HostLockMutation,
  HostLockOp,
  HostRuleOp,
  HostRuleResult,
  ListLocksQuery,
  LockOp,
  LockOpContext,
  LockOpResult,
  LockStats,
  NewLock,
  Store,
} from './store.js';
import { StoreTimings, type StoreCall, type StoreCallKind } from './timings.js';
import { assertImportable, exportDocument, importDocument } from './transfer.js';
import { WebhookFeed } from './webhook-feed.js';

export abstract class SqlStore implements Store {
  abstract readonly dialect: 'sqlite' | 'postgres';
  abstract migrate(): Promise<void>;
  abstract close(): Promise<void>;
  /**
   * runs `fn` in one write transaction; it is retried or batched as the dialect needs.
   * `lockOp`: a lock operation, which tells `lockReads` what it wrote (any other write may
   * change what they read).
   */
  protected abstract runWrite<T>(fn: (tx: Tx) => Promise<T>, lockOp?: boolean): Promise<T>;
  /** how lock operations read the state their rule decides on (src/store/lock-reads.ts) */
  protected readonly lockReads: LockReads = DATABASE_READS;
  /** runs `fn` against committed data */
  protected abstract runRead<T>(fn: (q: Tx) => Promise<T>): Promise<T>;
  /** runs `fn` on one consistent, read-only view of the database */
  protected abstract runSnapshot<T>(fn: (q: Tx) => Promise<T>): Promise<T>;
  /** the dialect's readiness check: a round trip, and while down, whether writes can work again */
  protected abstract probe(): Promise<void>;
  /**
   * Whether a successful read proves the database is back. Not on SQLite: its reads work on a
   * full disk, only writes fail.
   */
  protected abstract readonly readsProveAvailability: boolean;

  readonly health = new StoreHealth();
  readonly timings = new StoreTimings();
  readonly instanceId = randomUUID();

  /**
   * Every database call goes through here: an outage error becomes the catalogue's 503
   * (`unavailable`) and starts an episode; a success that proves the database works ends it.
   */
  protected async guard<T>(
    work: () => Promise<T>,
    proves: boolean,
    kind: StoreCallKind = 'other',
  ): Promise<T> {
    const started = performance.now();
    const done = (outcome: StoreCall['outcome']) =>
      this.timings.record({ kind, outcome, seconds: (performance.now() - started) / 1000 });
    let result: T;
    try {
      result = await work();
    } catch (err) {
      if (!isUnavailableError(err)) {
        done('failed');
        throw err;
      }
      done('unavailable');
      this.health.failed(err);
      throw unavailable();
    }
    done('ok');
    if (proves) this.health.succeeded();
    return result;
  }

  protected async write<T>(fn: (tx: Tx) => Promise<T>, lockOp = false): Promise<T> {
    const result = await this.guard(() => this.runWrite(fn, lockOp), true, 'write');
    // after the commit: a reader woken by this sees what was written
    this.writes.emit('write');
    return result;
  }

  // one listener per event stream hub (src/service/event-stream.ts), not per client
  private readonly writes = new EventEmitter().setMaxListeners(0);

  /** A write committed outside `write` (PostgreSQL's server-side functions) tells the readers too. */
  protected committed(): void {
    this.writes.emit('write');
  }

  onWrite(listener: () => void): () => void {
    this.writes.on('write', listener);
    return () => this.writes.off('write', listener);
  }

  protected read<T>(fn: (q: Tx) => Promise<T>): Promise<T> {
    return this.guard(() => this.runRead(fn), this.readsProveAvailability, 'read');
  }

  protected snapshot<T>(fn: (q: Tx) => Promise<T>): Promise<T> {
    return this.guard(() => this.runSnapshot(fn), this.readsProveAvailability, 'snapshot');
  }

  async ping(): Promise<void> {
    await this.guard(() => this.probe(), true, 'ping');
  }

  async heartbeat(leaseMs: number, firstRun = false): Promise<void> {
    const soleServer = firstRun && (await this.claimSoleServer());
    await this.write((tx) => writeHeartbeat(tx, this.instanceId, leaseMs, soleServer));
  }

  /** SQLite: whether this process is the only server on the file (PostgreSQL: never assumed) */
  protected async claimSoleServer(): Promise<boolean> {
    return false;
  }

  async retireInstance(): Promise<void> {
    await this.write((tx) => retireInstanceRows(tx, this.instanceId));
  }

  // The other families' SQL lives in their own files; it runs through this store's transactions.
  // Users, tokens, sessions and the audit trail are tables no lock operation reads: their
  // writes pass as lock operations', so SQLite's writer keeps its memory of the locks (an
  // operator's token or session is touched every minute while they work).
  readonly accounts = new Accounts(
    (fn) => this.write(fn, true),
    (fn) => this.read(fn),
  );
  readonly audit = new AuditTrail(
    (fn) => this.write(fn, true),
    (fn) => this.read(fn),
  );
  readonly events = new LockEvents(
    (fn) => this.write(fn),
    (fn) => this.read(fn),
  );
  readonly hostDirectory = new HostDirectory(
    (fn) => this.write(fn),
    (fn) => this.read(fn),
  );
  readonly webhookFeed = new WebhookFeed(
    (fn) => this.write(fn),
    (fn) => this.read(fn),
    // the cursors: a table no lock operation reads (as above)
    (fn) => this.write(fn, true),
  );

  readonly overview = new Overview((fn) => this.read(fn));
  readonly gateStates = new GateStates(
    (fn) => this.write(fn),
    (fn) => this.read(fn),
  );
  readonly lockMembers = new LockMembers(
    (fn) => this.write(fn),
    (fn) => this.read(fn),
  );

  // one listener per blocked request: no limit
  private readonly changes = new EventEmitter().setMaxListeners(0);

  onLockChanged(listener: (lockId: number | null, wake?: readonly number[]) => void): () => void {
    this.changes.on('change', listener);
    this.startListening();
    return () => this.changes.off('change', listener);
  }

  /** tells this instance's listeners; dialects with cross-instance channels override `signal` */
  protected emitChange(lockId: number | null, wake?: readonly number[]): void {
    this.changes.emit('change', lockId, wake);
  }

  /** PostgreSQL: NOTIFY inside the transaction, delivered to every instance on commit */
  protected async signal(_tx: Tx, _lockId: number, _wake: number[] | undefined): Promise<void> {}

  /** Like `signal`, for every lock at once (the global pause): other instances' waiters hear it. */
  protected async signalEveryLock(_tx: Tx): Promise<void> {}

  /** PostgreSQL: LISTEN for other instances' changes */
  protected startListening(): void {}

  runExclusive(_job: string, fn: () => Promise<void>): Promise<boolean> {
    return fn().then(() => true);
  }

  async findExpiredLocks(limit: number): Promise<number[]> {
    return this.read((q) => readExpiredLockIds(q, limit));
  }

  /** PostgreSQL: move identity sequences past imported ids */
  protected async afterImport(_tx: Tx): Promise<void> {}

  async exportData(): Promise<ExportDocument> {
    return this.snapshot((q) => exportDocument(q));
  }

  async importData(doc: ExportDocument): Promise<Record<string, number>> {
    assertImportable(doc);
    const counts = await this.write(async (tx) => {
      const counts = await importDocument(tx, doc);
      await this.afterImport(tx);
      return counts;
    });
    await this.statisticsAfterLoad();
    return counts;
  }

  /** The data is committed by then: a failure here must not turn a done import into an error. */
  private async statisticsAfterLoad(): Promise<void> {
    await this.guard(() => this.refreshStatistics(), true).catch(() => undefined);
  }

  /**
   * After a bulk load the planner's statistics describe the empty tables it replaced: PostgreSQL
   * would plan the first lists and searches of a restored 100k-lock database as scans of a few
   * rows (and autovacuum gets to them only later). Refreshed once, right after the commit.
   */
  protected async refreshStatistics(): Promise<void> {}

  async importLocks(data: LockImport): Promise<LockImportCounts> {
    const counts = await this.write((tx) => importLockSet(tx, data));
    await this.statisticsAfterLoad();
    return counts;
  }

  async diagnose(): Promise<{ appliedMigrations: number[]; clock: number }> {
    return this.read(readDiagnosis);
  }

  async lockStats(staleAfterMs: number, namedLimit = 0): Promise<LockStats> {
    return this.read((q) => readLockStats(q, staleAfterMs, namedLimit));
  }

  lockOp<T>(op: LockOp<T>): Promise<LockOpResult<T> | undefined> {
    return this.runLockOp(
      op,
      undefined,
      async () => undefined,
      (lock, _none, ctx) => op.decide(lock, ctx),
    );
  }

  hostLockOp<T>(op: HostLockOp<T> & { createIfMissing: true }): Promise<LockOpResult<T>>;
  hostLockOp<T>(op: HostLockOp<T>): Promise<LockOpResult<T> | undefined>;
  hostLockOp<T>(op: HostLockOp<T>): Promise<LockOpResult<T> | undefined> {
    return this.runLockOp(op, op, (tx, now) => this.lockReads.checkIn(tx, op.host, now), op.decide);
  }

  forceRelease(op: ForceReleaseOp): Promise<ForceReleaseResult | 'via_child' | undefined> {
    return forceReleaseByLockOp(this, op);
  }

  async hostRule(op: HostRuleOp): Promise<HostRuleResult> {
    const { ref, createWith, host } = op;
    const decide = hostRuleDecision(op);
    return (await this.hostLockOp({ ref, createIfMissing: true, createWith, host, actor: {}, decide }))
      .result;
  }

  /**
   * One transaction on one lock's row: the host checked in (host ops), the lock found or
   * created, what its rule reads (src/store/lock-op/context.ts), the rule run, its outcome
   * written (…/write.ts), waiters signalled when the change may let one in (…/wake.ts).
   */
  private async runLockOp<T, H extends HostRef | undefined>(
    op: LockOpRequest,
    create: HostRequest | undefined,
    checkIn: (tx: Tx, now: number) => Promise<H>,
    decide: (lock: LockState, host: H, ctx: LockOpContext) => HostLockMutation<T>,
  ): Promise<LockOpResult<T> | undefined> {
    const reads = this.lockReads;
    const signal: Signal = (tx, lockId, wake) => this.signal(tx, lockId, wake);
    const run = async (tx: Tx) => {
      const now = await tx.now();
      const host = await checkIn(tx, now);
      const record = await findOrCreateLock(tx, reads, op, create, now);
      const s = await readLockOpState(tx, reads, op, create !== undefined, host?.id, record, now);
      await deleteLapsed(tx, s);
      const { lock, read, family, newParent, targetHost, globalPause } = s;
      const mutation = decide(lock, host, {
        targetHost,
        now,
        queue: read.queue,
        globalPause,
        family,
        newParent,
      });
      const head = await wakeHead(tx, reads, op, s, mutation.next);
      const ancestors = await writeAncestors(tx, s, mutation);
      if (mutation.delete) {
        await writeDeletion(tx, s, mutation);
        // Every waiter hears of it (their lock is gone), not just the head.
        await this.signal(tx, lock.id, undefined);
        const below = await signalBelow(tx, signal, ancestors.freedLevels);
        await reads.wrote(tx, writesOfDeletion(s, ancestors.changed));
        return { result: mutation.result, lock: undefined, changed: lock.id, wake: undefined, below };
      }
      const next = mutation.next ?? lock;
      if (mutation.next) await countMembersAfter(tx, s, mutation.next);
      const waiterId = await writeChange(tx, s, mutation, { host, instanceId: this.instanceId });
      const { changed, wake } = whoToWake(s, mutation, head, waiterId);
      if (changed) await this.signal(tx, lock.id, wake);
      const levels = levelsToSignal(s, mutation, host, ancestors.freedLevels);
      const below = await signalBelow(tx, signal, levels, changed ? lock.id : undefined);
      // Last, once every statement of the operation succeeded.
      await reads.wrote(
        tx,
        writesOf(s, mutation, ancestors.changed, { waiterId, host, instanceId: this.instanceId }),
      );
      const answered = lockAfter(lock, next, newParent?.target?.name, s.children);
      return {
        result: mutation.result,
        lock: answered,
        waiterId,
        changed: changed ? lock.id : undefined,
        wake,
        below,
      };
    };
    let out;
    try {
      out = await this.write(run, true);
    } catch (err) {
      if (err instanceof NoSuchLock) return undefined;
      throw err;
    }
    if (out.changed !== undefined) this.emitChange(out.changed, out.wake);
    for (const id of out.below) this.emitChange(id, undefined);
    return { result: out.result, lock: out.lock, waiterId: out.waiterId };
  }

  async getGlobalPause(): Promise<{ pause: Pause | null; now: number }> {
    return this.read(readGlobalPauseNow);
  }

  async setGlobalPause(
    pause: Pause | null,
    actor: AuditActor,
  ): Promise<{ pause: Pause | null; now: number }> {
    const done = await this.write((tx) =>
      changeGlobalPause(tx, pause, actor, (t) => this.signalEveryLock(t)),
    );
    // every waiter of this instance too, once committed
    if (done.starts) this.emitChange(null);
    return { pause: done.pause, now: done.now };
  }

  async getLock(ref: string): Promise<LockState | undefined> {
    return this.read((q) => readLock(q, ref));
  }

  async listLocks(query: ListLocksQuery) {
    return this.read((q) => readLockList(q, this.dialect, query));
  }

  async createLock(input: NewLock, actor: Actor): Promise<LockState> {
    return this.write((tx) => insertLock(tx, input, actor));
  }

  async touchHost(host: HostIdentity): Promise<HostRef> {
    // the lock operations' check-in: on SQLite a host's look at a lock keeps what the writer remembers
    return this.write(async (tx) => this.lockReads.checkIn(tx, host, await tx.now()), true);
  }
}
