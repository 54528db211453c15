// The store logic both dialects share. Subclasses only provide transactions (`write`),
// reads, migrations and connection handling; every statement here is dialect-neutral.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { decideHostRule, verdictOf } from '../lock/host-rules.js';
import { mayAdmitWaiters } from '../lock/queue.js';
import { StoreHealth, isUnavailableError, unavailable } from './health.js';
import { StoreTimings, type StoreCall, type StoreCallKind } from './timings.js';
import { eventFor, type Actor, type HostRef, type LockState } from '../lock/types.js';
import { HostDirectory } from './hosts.js';
import { Accounts } from './accounts.js';
import { AuditTrail, insertAudit } from './audit.js';
import { LockEvents } from './events.js';
import { readDiagnosis, readLockStats } from './stats.js';
import { Overview } from './overview.js';
import {
  NoSuchLock,
  findOrCreateLock,
  readLockOpState,
  type HostRequest,
  type LockOpRequest,
} from './lock-op/context.js';
import { withFamily, parentNameAfter } from './lock-op/family.js';
import {
  countMembersAfter,
  deleteLapsed,
  writeAncestors,
  writeChange,
  writeDeletion,
  writesOf,
} from './lock-op/write.js';
import { signalBelow, wakeHead, whoToWake, type Signal } from './lock-op/wake.js';
import { GateStates } from './gate-states.js';
import { WebhookFeed } from './webhook-feed.js';
import { compileFilter } from './search-sql.js';
import { lockIdsOutsideWindow } from './window-state.js';
import { usesWindowState } from '../search/parse.js';
import {
  EXPORT_FORMAT,
  EXPORT_VERSION,
  assertEmpty,
  documentProblems,
  exportTables,
  importTables,
  type ExportDocument,
} from './backup.js';
import { importLockSet, type LockImport, type LockImportCounts } from './lock-import.js';
import {
  findLockRecord,
  insertEvents,
  insertUnique,
  loadHolders,
  loadHoldersOf,
  inheritFencingCounter,
} from './lock-sql.js';
import { readStoredPause, writeGlobalPause } from './settings-sql.js';
import { DATABASE_READS, type LockReads } from './lock-reads.js';
import type { Pause } from '../lock/calendar.js';
import { type Tx } from './sql.js';
import { countMembers, countMembersOf, LockMembers } from './members.js';
import { DEFAULT_MEMBERS_DAYS, membershipCutoff } from '../lock/members.js';
import { acquireUpward, assertParent, guardViaRelease } from '../lock/nested.js';
import { resolveParent, withFamilyNames } from './nested-sql.js';
import {
  LOCK_COLUMNS,
  blackoutsColumn,
  gatesColumn,
  windowsColumn,
  toLockState,
  type LockRecord,
} from './lock-rows.js';
import type {
  AuditActor,
  LockStats,
  HostIdentity,
  ListLocksQuery,
  HostLockMutation,
  HostLockOp,
  HostRuleOp,
  HostRuleResult,
  LockOp,
  LockOpContext,
  LockOpResult,
  NewLock,
  Store,
} from './store.js';

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
    await this.write(async (tx) => {
      const now = await tx.now();
      await tx.run(
        `INSERT INTO instances (id, started_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`,
        [this.instanceId, now, now, now + leaseMs],
      );
      // Rows of dead instances: their waiters are ghosts already (no live row), the rows go.
      await tx.run('DELETE FROM instances WHERE expires_at < ?', [now]);
      if (soleServer) {
        await tx.run('DELETE FROM instances WHERE id <> ?', [this.instanceId]);
        await tx.run('DELETE FROM lock_waiters WHERE instance_id IS NULL OR instance_id <> ?', [
          this.instanceId,
        ]);
      }
    });
  }

  /** SQLite: whether this process is the only server on the file (PostgreSQL: never assumed) */
  protected async claimSoleServer(): Promise<boolean> {
    return false;
  }

  async retireInstance(): Promise<void> {
    await this.write(async (tx) => {
      await tx.run('DELETE FROM lock_waiters WHERE instance_id = ?', [this.instanceId]);
      await tx.run('DELETE FROM instances WHERE id = ?', [this.instanceId]);
    });
  }

  // The other families' SQL lives in their own files; it runs through this store's transactions.
  readonly accounts = new Accounts(
    (fn) => this.write(fn),
    (fn) => this.read(fn),
  );
  readonly audit = new AuditTrail(
    (fn) => this.write(fn),
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
    return this.read(async (q) => {
      const now = await q.now();
      // Waiters past their deadline or on an instance whose heartbeat lease ran out (ghosts).
      const rows = await q.all<{ lock_id: number }>(
        // next_expiry: the earliest lease end of the lock's holders (migration 14); not indexed, so
        // this scans the locks every few seconds rather than cost each grant (see migration 14)
        `SELECT id AS lock_id FROM locks WHERE next_expiry <= ?
         UNION SELECT w.lock_id FROM lock_waiters w LEFT JOIN instances i ON i.id = w.instance_id
           WHERE w.deadline <= ? OR i.expires_at IS NULL OR i.expires_at <= ?
         LIMIT ?`,
        [now, now, now, limit],
      );
      return rows.map((r) => Number(r.lock_id));
    });
  }

  /** PostgreSQL: move identity sequences past imported ids */
  protected async afterImport(_tx: Tx): Promise<void> {}

  async exportData(): Promise<ExportDocument> {
    const tables = await this.snapshot((q) => exportTables(q));
    return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exported_at: new Date().toISOString(), tables };
  }

  async importData(doc: ExportDocument): Promise<Record<string, number>> {
    const problems = documentProblems(doc);
    if (problems.length) throw new Error(`the export cannot be imported: ${problems.join('; ')}`);
    const counts = await this.write(async (tx) => {
      await assertEmpty(tx);
      const counts = await importTables(tx, doc.tables);
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

  async hostRule(op: HostRuleOp): Promise<HostRuleResult> {
    const { result } = await this.hostLockOp({
      ref: op.ref,
      createIfMissing: true,
      createWith: op.createWith,
      host: op.host,
      actor: {},
      decide: (lock, host, ctx) => {
        const globalPause = ctx.globalPause ?? null;
        const admission = { globalPause, gateVerdictsFor: op.gateVerdictsFor };
        const own = decideHostRule(op.rule, lock, host, ctx.now, ctx.queue, admission);
        // Nested locks: an acquire takes every level or none; a slot held via a child stays.
        const { decision, chain } =
          op.rule === 'acquire'
            ? acquireUpward(own, lock, host, ctx.now, ctx.family, { host }, admission)
            : { decision: guardViaRelease(own, lock, host, ctx.now), chain: undefined };
        const result: HostRuleResult = {
          ...verdictOf(decision),
          lock: decision.next,
          now: ctx.now,
          globalPause,
        };
        return { next: decision.next, events: decision.events, result, chain };
      },
    });
    return result;
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
        const forget = {
          lockId: lock.id,
          record,
          dequeued: [],
          alsoChanged: ancestors.changed,
          forgetAll: true,
        };
        await reads.wrote(tx, forget);
        return { result: mutation.result, lock: undefined, changed: lock.id, wake: undefined, below };
      }
      const next = mutation.next ?? lock;
      if (mutation.next) await countMembersAfter(tx, s, mutation.next);
      const waiterId = await writeChange(tx, s, mutation, { host, instanceId: this.instanceId });
      const { changed, wake } = whoToWake(s, mutation, head, waiterId);
      if (changed) await this.signal(tx, lock.id, wake);
      // A place freed at this nested lock or above may let in waiters of the locks below it.
      const nested = s.ancestors.length > 0 || s.children.length > 0;
      if (nested && mayAdmitWaiters(lock, next)) ancestors.freedLevels.push(lock.id);
      const below = await signalBelow(tx, signal, ancestors.freedLevels, changed ? lock.id : undefined);
      // Last, once every statement of the operation succeeded.
      await reads.wrote(
        tx,
        writesOf(s, mutation, ancestors.changed, { waiterId, host, instanceId: this.instanceId }),
      );
      const answered =
        next === lock
          ? next
          : withFamily(next, parentNameAfter(lock, next, newParent?.target?.name), s.children);
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
    return this.read(async (q) => ({ now: await q.now(), pause: await readStoredPause(q) }));
  }

  async setGlobalPause(
    pause: Pause | null,
    actor: AuditActor,
  ): Promise<{ pause: Pause | null; now: number }> {
    const done = await this.write(async (tx) => {
      const now = await tx.now();
      const before = await readStoredPause(tx);
      await writeGlobalPause(tx, pause, now);
      const detail = pause
        ? `until ${new Date(pause.until).toISOString()}${pause.reason ? `: ${pause.reason}` : ''}`
        : null;
      // lifting a pause that was never set changes nothing and is not recorded
      if (pause || before) await insertAudit(tx, pause ? 'pause' : 'resume', actor, 'all locks', detail, now);
      // A pause in force refuses every blocking acquire at once (src/lock/rules.ts): the waiters
      // of every lock, on every instance, must hear of it now rather than at their next release.
      const starts = pause !== null && pause.until > now;
      if (starts) await this.signalEveryLock(tx);
      return { pause, now, starts };
    });
    if (done.starts) this.emitChange(null);
    return { pause: done.pause, now: done.now };
  }

  async getLock(ref: string): Promise<LockState | undefined> {
    return this.read(async (q) => {
      const record = await findLockRecord(q, ref, '');
      if (!record) return undefined;
      const cutoff = membershipCutoff(await q.now(), Number(record.members_days));
      const { count } = await countMembers(q, Number(record.id), cutoff);
      const [lock] = await withFamilyNames(q, [
        toLockState(record, await loadHolders(q, Number(record.id)), count),
      ]);
      return lock;
    });
  }

  async listLocks(query: ListLocksQuery) {
    return this.read(async (q) => {
      const now = await q.now();
      const outsideWindow = usesWindowState(query.filter) ? await lockIdsOutsideWindow(q, now) : undefined;
      const where = query.filter
        ? compileFilter(query.filter, this.dialect, {
            staleCutoff: now - query.staleAfterMs,
            now,
            outsideWindow,
          })
        : { sql: '1 = 1', params: [] };
      const total = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM locks');
      // Without a filter the subtotal is the total: a second `WHERE 1 = 1` count is a full scan
      // on SQLite (15 ms at 100k locks), where the plain count is not.
      const subtotal = query.filter
        ? await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM locks l WHERE ${where.sql}`, where.params)
        : total;
      const direction = query.order.desc ? 'DESC' : 'ASC';
      // Text sorts case-insensitively with a binary tie-break, so both stores (and every
      // PostgreSQL collation) list locks in the same order.
      const column = `l.${query.order.by}`;
      const orderParams: number[] = [];
      let sortKey: string;
      if (query.order.by === 'held_since') {
        // what needs an operator first: stale, then held longest, then free (NULLs sort
        // differently on the two stores, hence no NULL in the keys)
        sortKey = `(SELECT CASE WHEN MIN(h.refreshed_at) < ? THEN 0 WHEN COUNT(*) > 0 THEN 1 ELSE 2 END
             FROM lock_holders h WHERE h.lock_id = l.id) ${direction},
           COALESCE((SELECT MIN(h.acquired_at) FROM lock_holders h WHERE h.lock_id = l.id), 0) ${direction},
           LOWER(l.name) ${direction}, l.name ${direction}`;
        orderParams.push(now - query.staleAfterMs);
      } else if (query.order.by === 'name' || query.order.by === 'type') {
        sortKey = `LOWER(${column}) ${direction}, ${column} ${direction}`;
      } else {
        sortKey = `${column} ${direction}`;
      }
      const records = await q.all<LockRecord>(
        `SELECT ${LOCK_COLUMNS} FROM locks l WHERE ${where.sql}
         ORDER BY ${sortKey}, l.id ${direction} LIMIT ? OFFSET ?`,
        [...where.params, ...orderParams, query.limit, query.offset],
      );
      const holders = await loadHoldersOf(
        q,
        records.map((r) => Number(r.id)),
      );
      const members = await countMembersOf(
        q,
        records.map((r) => Number(r.id)),
        now,
      );
      return {
        total: Number(total?.n ?? 0),
        subtotal: Number(subtotal?.n ?? 0),
        locks: await withFamilyNames(
          q,
          records.map((r) => toLockState(r, holders.get(Number(r.id)) ?? [], members.get(Number(r.id)) ?? 0)),
        ),
        now,
      };
    });
  }

  async createLock(input: NewLock, actor: Actor): Promise<LockState> {
    return this.write(async (tx) => {
      const now = await tx.now();
      // Nested locks: the parent must exist and the chain stay within its depth.
      const parent = input.parent == null ? undefined : await resolveParent(tx, input.parent);
      if (input.parent != null) assertParent(undefined, parent, 0);
      const record = await insertUnique(
        tx,
        `INSERT INTO locks (name, type, enabled, max_holders, lease_seconds, windows, created_at, updated_at,
           blackouts, paused_until, pause_reason, max_holders_pct, members_days, parent_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${LOCK_COLUMNS.replace(/l\./g, '')}`,
        [
          input.name,
          input.type,
          input.enabled,
          input.maxHolders,
          input.leaseSeconds,
          windowsColumn(input.windows),
          now,
          now,
          blackoutsColumn(input.blackouts ?? []),
          input.pausedUntil ?? null,
          input.pauseReason ?? null,
          input.maxHoldersPercent ?? null,
          input.membersDays ?? DEFAULT_MEMBERS_DAYS,
          parent?.id ?? null,
        ],
      );
      // a new lock has no members yet
      const created = {
        ...withFamily(toLockState(record as LockRecord, [], 0), parent?.name, []),
        gates: input.gates ?? [],
      };
      if (created.gates.length > 0) {
        await tx.run('UPDATE locks SET gates = ? WHERE id = ?', [gatesColumn(created.gates), created.id]);
      }
      await inheritFencingCounter(tx, created.id);
      const lock = { ...created, fencingCounter: await currentFencingCounter(tx, created.id) };
      await insertEvents(tx, lock.id, lock.name, [eventFor('create', actor)], now);
      return lock;
    });
  }

  async touchHost(host: HostIdentity): Promise<HostRef> {
    // the lock operations' check-in: on SQLite a host's look at a lock keeps what the writer remembers
    return this.write(async (tx) => this.lockReads.checkIn(tx, host, await tx.now()), true);
  }
}

async function currentFencingCounter(tx: Tx, lockId: number): Promise<number> {
  const row = await tx.get<{ fencing_counter: number }>('SELECT fencing_counter FROM locks WHERE id = ?', [
    lockId,
  ]);
  return Number(row?.fencing_counter ?? 0);
}
