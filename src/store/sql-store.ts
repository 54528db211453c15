// The store logic both dialects share. Subclasses only provide transactions (`write`),
// reads, migrations and connection handling; every statement here is dialect-neutral.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { decideHostRule, verdictOf } from '../lock/host-rules.js';
import { mayAdmitWaiters, type QueueView } from '../lock/queue.js';
import { MAX_NAMED_WAITERS, waitersToWake } from '../lock/wake.js';
import { StoreHealth, isUnavailableError, unavailable } from './health.js';
import { StoreTimings, type StoreCall, type StoreCallKind } from './timings.js';
import { eventFor, type Actor, type HostRef, type LockState } from '../lock/types.js';
import { HostDirectory } from './hosts.js';
import { Accounts } from './accounts.js';
import { AuditTrail, insertAudit } from './audit.js';
import { LockEvents } from './events.js';
import { readDiagnosis, readLockStats } from './stats.js';
import { Overview } from './overview.js';
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
import { forceReleaseByLockOp } from './force-release.js';
import {
  applyNext,
  findHostById,
  holdersAfter,
  recordAfter,
  findLockRecord,
  insertEvents,
  insertUnique,
  loadHolders,
  loadHoldersOf,
  inheritFencingCounter,
  rememberFencingCounter,
} from './lock-sql.js';
import { readStoredPause, writeGlobalPause } from './settings-sql.js';
import { clearViaLock } from './holders-json.js';
import { DATABASE_READS, type LockReads } from './lock-reads.js';
import type { Pause } from '../lock/calendar.js';
import { type Tx } from './sql.js';
import { countMembers, countMembersOf, LockMembers } from './members.js';
import { DEFAULT_MEMBERS_DAYS, membersAdded, membershipCutoff, withMembersCount } from '../lock/members.js';
import { acquireUpward, assertParent, guardViaRelease, releaseUpward, type Family } from '../lock/nested.js';
import {
  loadAncestors,
  loadSiblings,
  loadTreeQueue,
  resolveParent,
  subtreeHeight,
  waitingBelow,
  withFamilyNames,
} from './nested-sql.js';
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
  ForceReleaseOp,
  ForceReleaseResult,
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

  forceRelease(op: ForceReleaseOp): Promise<ForceReleaseResult | 'via_child' | undefined> {
    return forceReleaseByLockOp(this, op);
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
   * created, its holders and live queue read, the rule run, its outcome written, waiters
   * signalled when the change may let one in.
   */
  private async runLockOp<T, H extends HostRef | undefined>(
    op: {
      ref: string;
      actor: Actor;
      targetHostId?: number;
      parentRef?: string;
      waiterId?: number;
      sweepQueue?: boolean;
    },
    create: Pick<HostLockOp<T>, 'createIfMissing' | 'createWith'> | undefined,
    checkIn: (tx: Tx, now: number) => Promise<H>,
    decide: (lock: LockState, host: H, ctx: LockOpContext) => HostLockMutation<T>,
  ): Promise<LockOpResult<T> | undefined> {
    const reads = this.lockReads;
    let out;
    try {
      out = await this.write(async (tx) => {
        const now = await tx.now();
        const host = await checkIn(tx, now);
        let record = await reads.findLock(tx, op.ref);
        if (!record && create?.createIfMissing) {
          const created = await tx.get<{ id: number }>(
            `INSERT INTO locks (name, type, enabled, max_holders, created_at, updated_at)
             VALUES (?, 'ForemanDlm::Dlmlock::Update', ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id`,
            [op.ref, true, create.createWith?.maxHolders ?? 1, now, now],
          );
          if (created) {
            await inheritFencingCounter(tx, Number(created.id));
            await insertEvents(tx, Number(created.id), op.ref, [eventFor('create', op.actor)], now);
          }
          // by its name: a lock created meanwhile with the ref as its id is not this one
          record = await tx.get<LockRecord>(
            `SELECT ${LOCK_COLUMNS} FROM locks l WHERE l.name = ?${tx.forUpdate}`,
            [op.ref],
          );
        }
        // No such lock: nothing is written, not even the host's check-in (FleetLock relies on it).
        if (!record) throw new NoSuchLock();
        // The queue's head only: as many live entries as could be admitted, and one more each
        // way (src/lock/queue.ts QueueView). A limit in percent of members is read again below.
        const queueAsk = (headSize: number) => ({
          now,
          headSize,
          waiterId: op.waiterId,
          sweep: op.sweepQueue,
        });
        let state = await reads.holdersAndQueue(
          tx,
          Number(record.id),
          queueAsk(Number(record.max_holders) + 2),
        );
        // Nested locks: the ancestors' rows are taken after this one's, upward (src/store/nested-sql.ts).
        const ancestors = await loadAncestors(tx, record.parent_id);
        const children = await reads.childNames(tx, record);
        const family: Family = {
          ancestors,
          siblings: await loadSiblings(
            tx,
            ancestors.map((a) => a.id),
            [...state.holders.map((h) => h.hostId), ...(host ? [host.id] : [])],
          ),
          // host requests only: an operator's change or a job admits nobody through the tree
          tree: create
            ? await loadTreeQueue(
                tx,
                { lockId: Number(record.id), ancestors, hasChildren: children.length > 0 },
                now,
                op.waiterId,
              )
            : undefined,
        };
        const newParent =
          op.parentRef === undefined
            ? undefined
            : {
                target: await resolveParent(tx, op.parentRef),
                subtreeHeight: await subtreeHeight(tx, Number(record.id)),
              };
        const targetHost =
          op.targetHostId === undefined ? undefined : await findHostById(tx, op.targetHostId);
        // Members are counted where the limit depends on them, and for operators' changes (their
        // answer shows the count); a host polling a fixed-limit lock is spared the count.
        const candidate = host?.id ?? targetHost?.id;
        const members =
          create === undefined || record.max_holders_pct !== null
            ? await countMembers(
                tx,
                Number(record.id),
                membershipCutoff(now, Number(record.members_days)),
                candidate ?? null,
              )
            : undefined;
        const lock: LockState = withFamily(
          toLockState(record, state.holders, members?.count ?? null),
          ancestors[0]?.name,
          children,
        );
        if (!state.queue.complete && state.queue.head.length < lock.maxHolders + 2) {
          state = await reads.holdersAndQueue(tx, lock.id, queueAsk(lock.maxHolders + 2));
        }
        // Waiters whose request timed out elsewhere (or whose instance died) leave the queue here.
        const gone = state.lapsed;
        const lapsed = gone.length;
        if (lapsed > 0) {
          await tx.defer(`DELETE FROM lock_waiters WHERE id IN (${gone.map(() => '?').join(', ')})`, [
            ...gone.map((w) => w.id),
          ]);
        }
        // host requests may admit a holder: the global pause is read in this same transaction
        const globalPause = create ? await reads.globalPause(tx, now) : undefined;
        const mutation = decide(lock, host, {
          targetHost,
          now,
          queue: state.queue,
          globalPause,
          family,
          newParent,
        });
        // A limit raised beyond the head read: the head the new places may admit, for the wake-up.
        let wakeHead = state.queue;
        const wakeSize = Math.min(mutation.next?.maxHolders ?? 0, MAX_NAMED_WAITERS) + 2;
        if (!wakeHead.complete && wakeHead.head.length < wakeSize) {
          wakeHead = (await reads.holdersAndQueue(tx, lock.id, queueAsk(wakeSize))).queue;
        }
        const parentNameOf = (l: LockState) =>
          l.parentId == null
            ? null
            : l.parentId === lock.parentId
              ? (lock.parent ?? null)
              : (newParent?.target?.name ?? null);
        // Hosts that left this lock leave the slots they held through it in the ancestors.
        const chain = releaseUpward(
          lock,
          mutation.delete ? undefined : (mutation.next ?? lock),
          mutation.chain?.ancestors ?? ancestors,
          family.siblings,
          mutation.events,
          now,
        );
        const freedLevels: number[] = [];
        const ancestorsChanged: number[] = [];
        for (const [i, before] of ancestors.entries()) {
          const after = chain.ancestors[i]!;
          if (after !== before) {
            await applyNext(tx, before, after);
            ancestorsChanged.push(before.id);
          }
          await insertEvents(
            tx,
            before.id,
            before.name,
            [...(mutation.chain?.events[i] ?? []), ...chain.events[i]!],
            now,
          );
          if (mayAdmitWaiters(before, after)) freedLevels.push(before.id);
        }
        if (mutation.delete) {
          await tx.run('DELETE FROM locks WHERE id = ?', [lock.id]);
          await clearViaLock(tx, lock.id);
          await rememberFencingCounter(tx, lock.name, lock.fencingCounter);
          // The lock's own events go with it (foreman_dlm); the deletion itself stays on record.
          await insertEvents(tx, null, lock.name, mutation.events, now);
          // Every waiter hears of it (their lock is gone), not just the head.
          await this.signal(tx, lock.id, undefined);
          const below = await this.signalBelow(tx, freedLevels);
          await reads.wrote(tx, {
            lockId: lock.id,
            record,
            dequeued: [],
            alsoChanged: ancestorsChanged,
            forgetAll: true,
          });
          return { result: mutation.result, lock: undefined, changed: lock.id, wake: undefined, below };
        }
        const next = mutation.next ?? lock;
        if (mutation.next && members) {
          // The answer shows the members after the change; the object is the one `result` holds.
          let count = members.count;
          if (mutation.next.membersDays !== lock.membersDays) {
            count = (await countMembers(tx, lock.id, membershipCutoff(now, mutation.next.membersDays ?? 0)))
              .count;
          }
          const known =
            candidate === undefined ? undefined : { hostId: candidate, isMember: members.hostIsMember };
          Object.assign(
            mutation.next,
            withMembersCount(mutation.next, count + membersAdded(lock, mutation.next, known)),
          );
        }
        if (mutation.next) await applyNext(tx, lock, mutation.next);
        await insertEvents(tx, lock.id, next.name, mutation.events, now);
        if (mutation.audit) {
          const { type, actor, target, detail } = mutation.audit;
          await insertAudit(tx, type, actor, target, detail, now);
        }
        let waiterId: number | undefined;
        if (mutation.dequeue !== undefined) {
          await tx.defer('DELETE FROM lock_waiters WHERE id = ?', [mutation.dequeue]);
        }
        if (mutation.enqueue && host) {
          const row = await tx.get<{ id: number }>(
            `INSERT INTO lock_waiters (lock_id, host_id, created_at, deadline, instance_id)
             VALUES (?, ?, ?, ?, ?) RETURNING id`,
            [lock.id, host.id, now, mutation.enqueue.deadline, this.instanceId],
          );
          waiterId = row ? Number(row.id) : undefined;
        }
        // Only a lock with a queue has anyone to wake, here or in another instance.
        const changed =
          state.queued && (mayAdmitWaiters(lock, next) || mutation.dequeue !== undefined || lapsed > 0);
        // Only the head of the queue, as many as places are free, may get in: only they are woken.
        const wake = changed
          ? waitersToWake(next, queueAfter(wakeHead, mutation.dequeue, waiterId), now)
          : undefined;
        if (changed) await this.signal(tx, lock.id, wake);
        // A place freed at this nested lock or above may let in waiters of the locks below it.
        if ((ancestors.length > 0 || children.length > 0) && mayAdmitWaiters(lock, next)) {
          freedLevels.push(lock.id);
        }
        const below = await this.signalBelow(tx, freedLevels, changed ? lock.id : undefined);
        // Last, once every statement of the operation succeeded.
        await reads.wrote(tx, {
          lockId: lock.id,
          record: mutation.next ? recordAfter(record, lock, mutation.next) : record,
          holders: mutation.next ? holdersAfter(lock, mutation.next) : state.holders,
          dequeued:
            mutation.dequeue === undefined
              ? gone.map((w) => w.id)
              : [...gone.map((w) => w.id), mutation.dequeue],
          enqueued:
            waiterId === undefined || !host || !mutation.enqueue
              ? undefined
              : {
                  id: waiterId,
                  hostId: host.id,
                  deadline: mutation.enqueue.deadline,
                  instanceId: this.instanceId,
                },
          alsoChanged: ancestorsChanged,
          // a rename moves fencing counters and children's names, a new parent two families
          forgetAll: next.name !== lock.name || newParent !== undefined,
        });
        return {
          result: mutation.result,
          lock: next === lock ? next : withFamily(next, parentNameOf(next) ?? undefined, children),
          waiterId,
          changed: changed ? lock.id : undefined,
          wake,
          below,
        };
      }, true);
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

  /** Nested locks: every waiter of the freed levels and of the locks below them may try again. */
  private async signalBelow(tx: Tx, freedLevels: number[], signalled?: number): Promise<number[]> {
    const waiting = (await waitingBelow(tx, freedLevels)).filter((id) => id !== signalled);
    for (const id of waiting) await this.signal(tx, id, undefined);
    return waiting;
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

/** Rolls a lock operation's transaction back when its lock does not exist. */
class NoSuchLock extends Error {}

async function currentFencingCounter(tx: Tx, lockId: number): Promise<number> {
  const row = await tx.get<{ fencing_counter: number }>('SELECT fencing_counter FROM locks WHERE id = ?', [
    lockId,
  ]);
  return Number(row?.fencing_counter ?? 0);
}

/** The live queue as a change leaves it: the waiter served or gone leaves, a new one is last. */
/**
 * The live queue's head after the change. A new entry joins at the end: it is in the head only
 * when the head is the whole queue. A partial head still holds more than the lock has places.
 */
function queueAfter(live: QueueView, dequeued: number | undefined, enqueued: number | undefined) {
  const ids = live.head.filter((w) => w.id !== dequeued).map((w) => ({ id: w.id }));
  if (enqueued !== undefined && live.complete) ids.push({ id: enqueued });
  return ids;
}

/** Nested locks: the family's names on a lock state, only where there are any. */
function withFamily(lock: LockState, parent: string | undefined, children: string[]): LockState {
  const { parent: _parent, children: _children, ...rest } = lock;
  return {
    ...rest,
    ...(parent === undefined ? {} : { parent }),
    ...(children.length === 0 ? {} : { children }),
  };
}
