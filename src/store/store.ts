// The Store's interfaces, one per table family, composed into `Store`: everything keyholder
// keeps, with a SQLite and a PostgreSQL implementation (src/store/sql-store.ts and the family
// files it composes). Only interfaces and the shapes they pass: the implementations import this
// file, never the other way round (test/unit/store-cycles.test.ts). Every lock state change
// runs `decide` inside one transaction that holds the lock's row, so check-and-set is atomic
// across requests and server instances.
import type { Actor, EventDraft, HostRef, LockState } from '../lock/types.js';
import type { ChainChange, Family, ParentTarget } from '../lock/nested.js';
import type { HostRule, Verdict } from '../lock/host-rules.js';
import type { Pause } from '../lock/calendar.js';
import type { QueueView } from '../lock/queue.js';
import type { LockFilter } from '../search/parse.js';
import type { GateDefinition, GateVerdicts } from '../lock/gates.js';
import type { AccountStore, AuditActor, AuditLog, AuditType } from './interfaces/accounts.js';
import type { HostStore } from './interfaces/hosts.js';
import type { EventLog, EventFeed, OverviewStore } from './interfaces/events.js';
// leaves: none of these imports a file that imports this one
import type { ExportDocument } from './backup.js';
import type { LockImport, LockImportCounts } from './lock-import.js';
import type { StoreHealth } from './health.js';
import type { StoreTimings } from './timings.js';

// The other families' interfaces, so every caller imports the Store's shapes from here.
export type * from './interfaces/accounts.js';
export type * from './interfaces/hosts.js';
export type * from './interfaces/events.js';

export interface HostIdentity {
  name: string;
  /** register an unknown host on first request (the CA already vouched for it) */
  autoRegister: boolean;
}

export interface LockMutation<T> {
  /** the lock's next state; omitted when nothing changes */
  next?: LockState;
  delete?: boolean;
  events: EventDraft[];
  result: T;
  /** leave the queue: this waiter was served, gave up or went away */
  dequeue?: number;
  /** an operator's action recorded in the audit trail in the same transaction */
  audit?: { type: AuditType; actor: AuditActor; target: string; detail: string | null };
  /** nested locks: the ancestors' next states and events (an acquire carried up the chain) */
  chain?: ChainChange;
}

export interface HostLockMutation<T> extends LockMutation<T> {
  /** queue the requesting host for the lock until `deadline` (blocking acquire) */
  enqueue?: { deadline: number };
}

export interface LockOpContext {
  /** the host named by `targetHostId`, when it exists */
  targetHost?: HostRef;
  now: number;
  /**
   * the lock's live queue (deadline not passed, instance alive: src/lock/queue.ts), oldest
   * first: its head, and the entry named by the op's `waiterId` (src/lock/queue.ts QueueView)
   */
  queue: QueueView;
  /** the global pause as the transaction reads it (host operations only; null: none) */
  globalPause?: Pause | null;
  /** nested locks: the ancestors (rows taken for update, nearest first) and sibling holdings */
  family: Family;
  /**
   * the lock named by `parentRef` (undefined: no such lock) with how many levels hang below the
   * lock being changed; only when the op names a parent
   */
  newParent?: { target: ParentTarget | undefined; subtreeHeight: number };
}

/** An operation on an existing lock (operator actions, jobs); a missing lock writes nothing. */
export interface LockOp<T> {
  /** a numeric id or a lock name, as it came in the URL */
  ref: string;
  /** a host looked up by id in the same transaction (an operator setting the holder) */
  targetHostId?: number;
  /** a would-be parent looked up (with its chain) in the same transaction (nested locks) */
  parentRef?: string;
  /** the queue entry the decision asks about (a blocking acquire's own): read wherever it is */
  waiterId?: number;
  /**
   * the expiry job: every lapsed entry leaves the queue, wherever it stands (other operations
   * only drop those they meet before the queue's head)
   */
  sweepQueue?: boolean;
  actor: Actor;
  /** pure: must not do I/O or await anything (it runs inside a shared transaction) */
  decide(lock: LockState, ctx: LockOpContext): LockMutation<T>;
}

/** An operation a host asks for on a lock (acquire, release): the host is checked in too. */
export interface HostLockOp<T> {
  ref: string;
  /** foreman_dlm creates missing locks on acquire and release */
  createIfMissing: boolean;
  /** settings of a lock created here (FleetLock groups get their configured max_holders) */
  createWith?: { maxHolders: number };
  /** the requesting host; registered/checked in within the same transaction */
  host: HostIdentity;
  /** the queue entry the decision asks about (a blocking acquire's own): read wherever it is */
  waiterId?: number;
  actor: Actor;
  /** pure, as `LockOp.decide` */
  decide(lock: LockState, host: HostRef, ctx: LockOpContext): HostLockMutation<T>;
}

/** A host's acquire or release without waiting (the hot path): the rule is named, not passed. */
export interface HostRuleOp {
  rule: HostRule;
  ref: string;
  /** settings of a lock created here */
  createWith?: { maxHolders: number };
  host: HostIdentity;
  /**
   * health gate verdicts the service fetched for this request (acquire of a gated lock), by lock
   * id: a nested lock's ancestors have gates of their own
   */
  gateVerdictsFor?: (lockId: number) => GateVerdicts | undefined;
}

export interface ForceReleaseOp {
  ref: string;
  /** the operator, as the events name them */
  actor: Actor;
  /** the operator, as the audit trail records them */
  audit: AuditActor;
  /** free only this holder; every holder when omitted */
  hostName?: string;
  /** why: each event's detail and the audit entry's */
  reason: string;
}

export interface ForceReleaseResult {
  /** the lock afterwards, its members counted */
  lock: LockState;
  /** the database's clock when the rule ran */
  now: number;
}

export type HostRuleResult = Verdict & {
  /** the lock after the request */
  lock: LockState;
  /** the database's clock when the rule ran */
  now: number;
  /** the global pause the rule saw (null: none) */
  globalPause?: Pause | null;
};

export interface LockOpResult<T> {
  result: T;
  /** the lock's state after the operation; undefined when it was deleted */
  lock: LockState | undefined;
  /** the queue entry an `enqueue` created */
  waiterId?: number;
}

/** What a new lock is created with; the rest (id, counter, times, holders) the store sets. */
export type NewLock = Pick<
  LockState,
  | 'name'
  | 'type'
  | 'enabled'
  | 'maxHolders'
  | 'leaseSeconds'
  | 'windows'
  | 'maxHoldersPercent'
  | 'membersDays'
> &
  Partial<Pick<LockState, 'blackouts' | 'pausedUntil' | 'pauseReason'>> & {
    gates?: GateDefinition[];
    /** nested locks: the parent's name or id */
    parent?: string | null;
  };

export interface ListLocksQuery {
  filter: LockFilter | null;
  order: {
    /** held_since: stale locks first, then by their oldest holder's acquisition, free locks last */
    by: 'name' | 'type' | 'id' | 'enabled' | 'created_at' | 'updated_at' | 'held_since';
    desc: boolean;
  };
  limit: number;
  offset: number;
  staleAfterMs: number;
}

export interface LockStats {
  locks: number;
  /** locks with at least one holder */
  locksHeld: number;
  holders: number;
  /** locks with a holder that has not refreshed within stale_after */
  locksStale: number;
  /** blocking acquires queued (across all instances) */
  waiters: number;
  hosts: number;
  events: number;
  /** webhook targets whose current event has failed at least once (retrying) */
  webhooksFailing: number;
  /** server instances whose heartbeat lease has not run out (this one included) */
  instancesAlive: number;
  /** the database clock at the read */
  now: number;
  /** held locks by name, at most `namedLimit` of them: stale first, then the longest held */
  held: HeldLock[];
}

export interface HeldLock {
  name: string;
  holders: number;
  /** when the earliest current holder acquired it */
  heldSince: number;
  /** a holder has not refreshed within stale_after */
  stale: boolean;
}

// ---- the server's own life: connection, readiness, instances, exclusive jobs ----

export interface StoreLifecycle {
  readonly dialect: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  close(): Promise<void>;
  /**
   * cheap round trip for /readyz; while an outage is on (`health.isDown`) it also checks that
   * writes can work again (SQLite: disk space), so readiness comes back by itself
   */
  ping(): Promise<void>;
  /** outage episodes and the notification connection's state, for the log and readiness */
  readonly health: StoreHealth;
  /** every database call's duration and outcome, for /metrics */
  readonly timings: StoreTimings;

  /** this process' id in the `instances` table; blocking waiters it queues carry it */
  readonly instanceId: string;
  /**
   * Registers this instance as alive for `leaseMs` (by the database clock). A server calls it
   * at start with `firstRun`, then every few seconds; waiters of instances whose lease ran out
   * are ghosts and leave the queue. On SQLite, a first run that finds itself the only server on
   * the file also clears every queue entry of earlier runs at once.
   */
  heartbeat(leaseMs: number, firstRun?: boolean): Promise<void>;
  /** at a clean shutdown: this instance's row and queue entries go */
  retireInstance(): Promise<void>;
  /**
   * Called after every write transaction of this instance has committed (locks, events, hosts,
   * accounts alike): a cheap in-process wake-up for readers of the event stream. Other
   * instances' writes are not reported here.
   */
  onWrite(listener: () => void): () => void;
  /** runs `fn` unless another instance is running the job of that name; false if skipped */
  runExclusive(job: string, fn: () => Promise<void>): Promise<boolean>;
}

// ---- locks ----

export interface LockStore {
  /** runs `op.decide` on the lock's row in one transaction; undefined when there is no such lock */
  lockOp<T>(op: LockOp<T>): Promise<LockOpResult<T> | undefined>;
  /**
   * The same for a host's request; undefined (and nothing written, not even the host's
   * registration) when the lock neither exists nor may be created.
   */
  hostLockOp<T>(op: HostLockOp<T> & { createIfMissing: true }): Promise<LockOpResult<T>>;
  hostLockOp<T>(op: HostLockOp<T>): Promise<LockOpResult<T> | undefined>;
  /**
   * A host's acquire or release (creating the lock when missing), as `decideHostRule` says.
   * PostgreSQL runs it as one server-side function call where it can.
   */
  hostRule(op: HostRuleOp): Promise<HostRuleResult>;
  /**
   * An operator frees one holder or every holder of a lock, as `decideOperatorRelease` says
   * (src/lock/force-release.ts): the events, the audit entry and the wake-ups in the same
   * transaction; a named host that holds nothing is a validation error. PostgreSQL runs it as
   * one server-side function call where it can (migration 16). Answers the lock afterwards and
   * the database's clock, `'via_child'` when the request meets a slot held through a child lock (nothing written: the
   * service frees the child first), undefined when there is no such lock.
   */
  forceRelease(op: ForceReleaseOp): Promise<ForceReleaseResult | 'via_child' | undefined>;
  /**
   * Called after any change that may let a waiter in (a holder left, a waiter left, the lock
   * was enabled or grew), in this instance and — on PostgreSQL — in every other instance.
   * `null` means "anything may have changed" (the notification channel was re-established).
   * `wake` names the waiters at the head of the queue that may now be admitted (as many as
   * places are free, see `waitersToWake`); undefined means any waiter of the lock may.
   */
  onLockChanged(listener: (lockId: number | null, wake?: readonly number[]) => void): () => void;
  /** locks with a lease or a queued waiter past its time (or on a dead instance), for the expiry job */
  findExpiredLocks(limit: number): Promise<number[]>;
  /** the stored global pause (even when its time has passed) and the database's clock */
  getGlobalPause(): Promise<{ pause: Pause | null; now: number }>;
  /** sets (null: lifts) the global pause, with an audit entry in the same transaction */
  setGlobalPause(pause: Pause | null, actor: AuditActor): Promise<{ pause: Pause | null; now: number }>;
  getLock(ref: string): Promise<LockState | undefined>;
  listLocks(q: ListLocksQuery): Promise<{ total: number; subtotal: number; locks: LockState[]; now: number }>;
  createLock(input: NewLock, actor: Actor): Promise<LockState>;
  /** registers (if allowed) and touches `last_checkin_at`; throws unknown_host otherwise */
  touchHost(host: HostIdentity): Promise<HostRef>;
}

/** A lock's members: list, operators' additions and removals, the checkins gate's query. */
export interface MemberStore {
  /** A page of a lock's current members, by name; undefined when there is no such lock. */
  list(
    ref: string,
    limit: number,
    offset: number,
  ): Promise<{ lockId: number; lockName: string; total: number; members: Member[]; now: number } | undefined>;
  /** Every current member with its last check-in: what the `checkins` gate judges. */
  current(lockId: number): Promise<{ members: Member[]; now: number }>;
  add(ref: string, hostName: string, actor: AuditActor): Promise<MemberChange>;
  remove(ref: string, hostName: string, actor: AuditActor): Promise<MemberChange>;
}

export interface Member {
  hostId: number;
  name: string;
  /** operator: kept until removed (it may have acquired too); acquired: ages out after members_days */
  source: 'operator' | 'acquired';
  lastAcquiredAt: number | null;
  lastCheckinAt: number | null;
  addedBy: string | null;
  addedAt: number | null;
}

export type MemberChange =
  | { ok: true; lockName: string; member: Member | undefined }
  | { ok: false; missing: 'lock' | 'host' | 'membership'; lockName?: string };

/** Health gates' last outcomes, and a `gate` event once per change (src/store/gate-states.ts). */
export interface GateStateStore {
  /**
   * Records `ok` as the gate's outcome; when it differs from the recorded one (or none was
   * recorded), also a `gate` event on the lock with `eventDetail`. True when it changed.
   * A lock deleted meanwhile records nothing.
   */
  record(lockId: number, gate: string, ok: boolean, eventDetail: string): Promise<boolean>;
  outcomes(lockId: number): Promise<GateOutcome[]>;
}

export interface GateOutcome {
  gate: string;
  ok: boolean;
  detail: string;
  changedAt: number;
}

// ---- backup, diagnosis and statistics over every table ----

export interface MaintenanceStore {
  /** `keyholder export`: every table that matters, from one consistent snapshot */
  exportData(): Promise<ExportDocument>;
  /** `keyholder import`: into an empty database only, in one transaction; rows per table */
  importData(doc: ExportDocument): Promise<Record<string, number>>;
  /** `keyholder import-foreman`: locks, holders and events into a keyholder without locks, one transaction */
  importLocks(data: LockImport): Promise<LockImportCounts>;
  /** for `keyholder doctor`: applied schema versions and the database's clock; changes nothing */
  diagnose(): Promise<{ appliedMigrations: number[]; clock: number }>;
  /** counts for /metrics, read in one go, with up to `namedLimit` held locks by name */
  lockStats(staleAfterMs: number, namedLimit?: number): Promise<LockStats>;
}

/** Everything keyholder keeps: the lock operations directly, the other families by name. */
export interface Store extends StoreLifecycle, LockStore, MaintenanceStore {
  /** users, API tokens and UI sessions (src/store/accounts.ts) */
  readonly accounts: AccountStore;
  /** the audit trail (src/store/audit.ts) */
  readonly audit: AuditLog;
  /** the hosts API: listing, admin-added hosts, can_acquire_locks (src/store/hosts.ts) */
  readonly hostDirectory: HostStore;
  /** a lock's events as the API lists them, and their retention (src/store/events.ts) */
  readonly events: EventLog;
  /** the event stream as webhooks read it, and the stale scan (src/store/webhook-feed.ts) */
  readonly webhookFeed: EventFeed;
  /** the web UI's overview counts and hourly activity (src/store/overview.ts) */
  readonly overview: OverviewStore;
  /** a lock's members: list, operators' additions and removals, the checkins gate's query */
  readonly lockMembers: MemberStore;
  /** health gates' last outcomes and `gate` events once per change (src/store/gate-states.ts) */
  readonly gateStates: GateStateStore;
}
