// SQLite has one writer connection, and every write transaction runs on it: what the lock
// operations read (host ids, lock rows, holders, queues, children, the global pause) is what
// this writer last wrote, so it keeps that in memory instead of reading it again on every
// operation (issue 10). Filled lazily from the database inside a write transaction (100k locks
// are not loaded at start), then kept current by the lock operations themselves.
//
// It may only ever say what the database says. Hence (src/store/sqlite/index.ts):
// - a lock operation tells it what it wrote only after all its statements succeeded
//   (`wrote`); a job that fails is rolled back to its savepoint and the cache is dropped;
// - any other write (operators, jobs, imports, accounts…) drops it, except a heartbeat, which
//   drops only the instance leases and the queues that carry them (`instancesChanged`);
// - a batch whose COMMIT or fdatasync fails drops it;
// - a commit by another connection on the same file (PRAGMA data_version) drops it.
// Dropped means rebuilt from the database on the next use.
//
// A host's acquire and release of a plain lock decide on it directly (src/store/sqlite/
// host-rule.ts): for them it also keeps the lock model, the holders' stale reports and which
// memberships are written, and hears of their writes through `hostRuleWrote`.
import type { Pause } from '../../lock/calendar.js';
import type { Waiter } from '../../lock/queue.js';
import type { Holder, HostRef, LockState } from '../../lock/types.js';
import {
  checkInKnownHost,
  findHostForCheckIn,
  findLockRecord,
  loadHoldersAndQueue,
  numericId,
  registerHost,
  toHostRef,
  type CheckInHost,
} from '../lock-sql.js';
import {
  DATABASE_READS,
  wholeQueue,
  type HoldersAndQueue,
  type LockOpWrites,
  type LockReads,
  type QueueAsk,
} from '../lock-reads.js';
import { loadChildNames } from '../nested-sql.js';
import { toLockState, type LockRecord } from '../lock-rows.js';
import { pauseInForce, readStoredPause } from '../settings-sql.js';
import type { Tx } from '../sql.js';
import type { HostIdentity } from '../store.js';

export interface CachedLock {
  record: LockRecord;
  holders: Holder[];
  /** every queue entry, live or not, in queue order (ascending id) */
  queue: Waiter[];
  /** read on first use */
  children?: string[];
  // What only the fast host rule (src/store/sqlite/host-rule.ts) needs:
  /**
   * the lock model of `record` and `holders` as a host's operation sees it (members not
   * counted), built on first use; never changed in place, like every lock state the rules see
   */
  state?: LockState;
  /**
   * the holders' stale reports (host id → stale_reported_at), only those that have one: the
   * lock model does not carry them, and a change keeps those of the holders it leaves as they
   * were. Undefined: not read yet.
   */
  staleReports?: ReadonlyMap<number, number>;
  /**
   * host id → a time that the host's stored `lock_members.last_acquired_at` is known to be at
   * or after: a grant within MEMBER_TOUCH_EVERY_MS of it writes no membership, so its
   * statement is skipped. Only a lock operation writes that column upwards, and every other
   * write to lock_members (an operator's, a deletion) drops the whole cache.
   */
  memberSince?: Map<number, number>;
}

/** What the fast host rule wrote, told once all its statements succeeded. */
export interface HostRuleWrites {
  /** the lock before and after; the same object when the rule left it as it was */
  prev: LockState;
  next: LockState;
  /** the stale reports `next`'s holders have now */
  staleReports: ReadonlyMap<number, number>;
  /** memberships the grant wrote or found written: see `CachedLock.memberSince` */
  members?: readonly MemberSince[];
}

/** a host's stored `lock_members.last_acquired_at` is known to be at or after `since` */
export interface MemberSince {
  hostId: number;
  since: number;
}

export class LockCache implements LockReads {
  private locks = new Map<number, CachedLock>();
  private idByName = new Map<string, number>();
  private hosts = new Map<string, CheckInHost>();
  /** the stored pause, whether or not in force; undefined: not read yet */
  private pause: { stored: Pause | null } | undefined;
  /** instance id → its heartbeat lease's end (a new queue entry carries its instance's) */
  private instances = new Map<string, number | null>();

  /** Forgets everything: the next operation reads from the database again. */
  clear(): void {
    this.locks = new Map();
    this.idByName = new Map();
    this.hosts = new Map();
    this.pause = undefined;
    this.instances = new Map();
  }

  /**
   * After a heartbeat, which writes only instance leases (renewed, dead ones gone): the leases
   * kept here, and the locks whose queue entries carry them, are read again. Everything else
   * stays, so a host polling less often than the heartbeat still finds itself and its lock here.
   */
  instancesChanged(): void {
    this.instances = new Map();
    for (const [lockId, entry] of this.locks) if (entry.queue.length > 0) this.forget(lockId);
  }

  /** how many locks it holds (tests) */
  get size(): number {
    return this.locks.size;
  }

  async checkIn(tx: Tx, host: HostIdentity, now: number): Promise<HostRef> {
    let known = this.hosts.get(host.name);
    if (!known) {
      known = await findHostForCheckIn(tx, host.name);
      if (known) this.hosts.set(host.name, known);
    }
    if (known) {
      // updates `known` once its UPDATE has run
      await checkInKnownHost(tx, known, now);
      return toHostRef(known);
    }
    const ref = await registerHost(tx, host, now);
    this.hosts.set(ref.name, {
      id: ref.id,
      name: ref.name,
      can_acquire_locks: ref.canAcquireLocks,
      last_checkin_at: now,
    });
    return ref;
  }

  async findLock(tx: Tx, ref: string): Promise<LockRecord | undefined> {
    // foreman_dlm's order: a numeric id first, then the name
    const id = numericId(ref);
    if (id !== undefined) {
      const byId = this.locks.get(id);
      if (byId) return byId.record;
    }
    const named = this.idByName.get(ref);
    if (named !== undefined && id === undefined) return this.locks.get(named)!.record;
    const record = await findLockRecord(tx, ref, '');
    if (record) await this.fill(tx, record);
    return record;
  }

  private async fill(tx: Tx, record: LockRecord): Promise<CachedLock> {
    const id = Number(record.id);
    const { holders, queue } = await loadHoldersAndQueue(tx, id);
    const entry: CachedLock = { record, holders, queue };
    this.locks.set(id, entry);
    this.idByName.set(record.name, id);
    return entry;
  }

  private async entry(tx: Tx, lockId: number): Promise<CachedLock | undefined> {
    const cached = this.locks.get(lockId);
    if (cached) return cached;
    const record = await findLockRecord(tx, String(lockId), '');
    return record && Number(record.id) === lockId ? this.fill(tx, record) : undefined;
  }

  async holdersAndQueue(tx: Tx, lockId: number, ask: QueueAsk): Promise<HoldersAndQueue> {
    const entry = await this.entry(tx, lockId);
    if (!entry) return DATABASE_READS.holdersAndQueue(tx, lockId, ask);
    // copies: whatever the caller does with them, the cache keeps what the database has
    return wholeQueue(
      entry.holders.map((h) => ({ ...h })),
      entry.queue,
      ask.now,
    );
  }

  async childNames(tx: Tx, record: LockRecord): Promise<string[]> {
    const lockId = Number(record.id);
    const entry = await this.entry(tx, lockId);
    if (!entry) return loadChildNames(tx, lockId);
    entry.children ??= await loadChildNames(tx, lockId);
    return [...entry.children];
  }

  async globalPause(tx: Tx, now: number): Promise<Pause | null> {
    this.pause ??= { stored: await readStoredPause(tx) };
    return pauseInForce(this.pause.stored, now);
  }

  async wrote(tx: Tx, writes: LockOpWrites): Promise<void> {
    if (writes.forgetAll) {
      this.clear();
      return;
    }
    for (const id of writes.alsoChanged) this.forget(id);
    const entry = this.locks.get(writes.lockId);
    if (!entry || !writes.holders || entry.record.name !== writes.record.name) {
      this.forget(writes.lockId);
      return;
    }
    entry.record = writes.record;
    // copies: the operation's answer may share these objects
    entry.holders = writes.holders.map((h) => ({ ...h }));
    entry.state = undefined;
    // which holders' reports the general path kept is its business: read them again if any
    if (entry.staleReports?.size) entry.staleReports = undefined;
    if (writes.dequeued.length > 0 || writes.enqueued) {
      const gone = new Set(writes.dequeued);
      const queue = gone.size > 0 ? entry.queue.filter((w) => !gone.has(w.id)) : [...entry.queue];
      const added = writes.enqueued;
      if (added) {
        // a new entry's id is above every id in the table (SQLite's rowid): it comes last
        queue.push({
          id: added.id,
          hostId: added.hostId,
          deadline: added.deadline,
          instanceExpiresAt: await this.instanceExpiry(tx, added.instanceId),
        });
      }
      entry.queue = queue;
    }
  }

  // The fast host rule's reads (src/store/sqlite/host-rule.ts): only what is known here, never
  // the database. Undefined: not known, the general path reads it.

  /** a host as its last check-in left it */
  knownHost(name: string): CheckInHost | undefined {
    return this.hosts.get(name);
  }

  /** a lock by id or name, as `findLock` would find it */
  knownLock(ref: string): CachedLock | undefined {
    const id = numericId(ref);
    // a numeric ref not known by id may be another lock's id in the database: not known
    if (id !== undefined) return this.locks.get(id);
    const named = this.idByName.get(ref);
    return named === undefined ? undefined : this.locks.get(named);
  }

  /** whether the stored global pause was read */
  get knowsPause(): boolean {
    return this.pause !== undefined;
  }

  /** the global pause in force at `now` (null: none), or undefined when not read yet */
  knownPause(now: number): Pause | null | undefined {
    return this.pause && pauseInForce(this.pause.stored, now);
  }

  /** the lock model of a cached lock, as the general path builds it for a host's fixed-limit lock */
  lockState(entry: CachedLock): LockState {
    entry.state ??= toLockState(entry.record, entry.holders, null);
    return entry.state;
  }

  /** the fast host rule wrote `next` (or only events, `next === prev`) */
  hostRuleWrote(entry: CachedLock, writes: HostRuleWrites): void {
    const { prev, next } = writes;
    if (next !== prev) {
      if (next.updatedAt !== prev.updatedAt || next.fencingCounter !== prev.fencingCounter) {
        entry.record = { ...entry.record, updated_at: next.updatedAt, fencing_counter: next.fencingCounter };
      }
      entry.holders = next.holders;
      entry.state = next;
    }
    entry.staleReports = writes.staleReports;
    for (const { hostId, since } of writes.members ?? []) {
      entry.memberSince ??= new Map();
      entry.memberSince.set(hostId, since);
    }
  }

  private async instanceExpiry(tx: Tx, instanceId: string): Promise<number | null> {
    if (!this.instances.has(instanceId)) {
      const row = await tx.get<{ expires_at: number }>('SELECT expires_at FROM instances WHERE id = ?', [
        instanceId,
      ]);
      this.instances.set(instanceId, row ? Number(row.expires_at) : null);
    }
    return this.instances.get(instanceId)!;
  }

  private forget(lockId: number): void {
    const entry = this.locks.get(lockId);
    if (!entry) return;
    this.locks.delete(lockId);
    this.idByName.delete(entry.record.name);
  }
}
