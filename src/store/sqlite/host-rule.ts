// SQLite's fast path for a host's acquire and release (issue 10), as PostgreSQL has its server-
// side function: the steady state of a fleet polling its lock — a known host, a lock the writer
// remembers, no queue, no family, a fixed limit — is decided on the writer's cache
// (src/store/sqlite/lock-cache.ts) by the same pure rule as everywhere (`decideHostRule`,
// src/lock), and written with statements prepared once: the lock row with its holders, the
// events, and a grant's membership only when the cache does not know it as written within
// MEMBER_TOUCH_EVERY_MS. No read of the database, and little allocated besides the rule's own.
//
// What it does not cover, it hands back having written nothing, and the general path
// (`SqlStore.hostRule` → `runLockOp`) runs: a host or lock the cache does not know yet (the
// general path reads and remembers them), a lock with queue entries (queue position, lapsed
// entries, wake-ups), a nested lock (ancestors, children, the tree's queue) and a percentage
// limit (members counted). Maintenance windows, blackouts, pauses and gates are the rule's
// own business and need no reads: covered. test/integration/rule-parity.test.ts holds this path,
// the general one and src/lock to the same table of cases.
//
// It runs as a job of the group commit like every write, so it is exactly as durable: answered
// after the batch's COMMIT and the log's fdatasync. The cache hears of the writes only after
// every statement succeeded; a batch that fails later drops the whole cache (index.ts).
import type Database from 'better-sqlite3';
import { decideHostRule, verdictOf } from '../../lock/host-rules.js';
import type { LiveQueue } from '../../lock/queue.js';
import type { Holder, LockState } from '../../lock/types.js';
import { holderColumnsOf, keptHolders, parseStoredHolders, sameStoredHolder } from '../holders-json.js';
import { CHECKIN_EVERY_MS, MEMBER_TOUCH_EVERY_MS, TOUCH_MEMBERSHIP_SQL, toHostRef } from '../lock-sql.js';
import type { HostRuleOp, HostRuleResult } from '../store.js';
import type { CachedLock, LockCache, MemberSince } from './lock-cache.js';

type Statement = Database.Statement<unknown[], unknown>;

/** The statements of the fast path, prepared on first use (after the migrations ran). */
class Statements {
  readonly checkIn: Statement;
  readonly writeHolders: Statement;
  readonly writeRow: Statement;
  readonly touchMember: Statement;
  readonly insertEvent: Statement;
  readonly storedHolders: Statement;

  constructor(db: Database.Database) {
    this.checkIn = db.prepare('UPDATE hosts SET last_checkin_at = ? WHERE id = ?');
    // what applyNext (src/store/lock-sql.ts) writes for a host's acquire or release: the changed
    // columns among these; the others are written with the values they have
    this.writeHolders = db.prepare(
      `UPDATE locks SET updated_at = ?, fencing_counter = ?, holders = ?, holder_count = ?, next_expiry = ?
       WHERE id = ?`,
    );
    this.writeRow = db.prepare('UPDATE locks SET updated_at = ?, fencing_counter = ? WHERE id = ?');
    this.touchMember = db.prepare(TOUCH_MEMBERSHIP_SQL);
    this.insertEvent = db.prepare(
      `INSERT INTO lock_events (lock_id, lock_name, event_type, host_id, host_name, user_id, user_login, detail, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.storedHolders = db.prepare('SELECT holders FROM locks WHERE id = ?');
  }
}

/** A request without a queue entry, on a lock without any: nobody is ahead of it. */
const NO_QUEUE: LiveQueue = [];
const NO_REPORTS: ReadonlyMap<number, number> = new Map();

export class SqliteHostRule {
  private statements: Statements | undefined;
  /** how many requests this path answered (tests: which path a request took) */
  answered = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly cache: LockCache,
  ) {}

  /**
   * Whether the cache as it is now lets this path decide the request. Asked before the request
   * joins a batch, so a request for the general path does not wait for a batch of its own
   * first; `run` asks again inside the transaction, where earlier jobs may have changed it.
   */
  covers(op: HostRuleOp): boolean {
    return (
      this.cache.knownHost(op.host.name) !== undefined &&
      this.cache.knowsPause &&
      isPlain(this.cache.knownLock(op.ref))
    );
  }

  /**
   * Inside the write transaction (a job of the group commit): the request decided and written,
   * or undefined — nothing written — when the general path must take it.
   */
  run(op: HostRuleOp): HostRuleResult | undefined {
    const host = this.cache.knownHost(op.host.name);
    const entry = this.cache.knownLock(op.ref);
    const now = Date.now();
    const globalPause = this.cache.knownPause(now);
    if (!host || !isPlain(entry) || globalPause === undefined) return undefined;
    const st = (this.statements ??= new Statements(this.db));
    const staleReports = entry.staleReports ?? this.readStaleReports(st, entry);

    // Same order as the general path: the check-in first (at most once a second), then the lock.
    const lastCheckIn = host.last_checkin_at === null ? null : Number(host.last_checkin_at);
    const checksIn = lastCheckIn === null || now - lastCheckIn >= CHECKIN_EVERY_MS;
    if (checksIn) st.checkIn.run(now, host.id);

    const ref = toHostRef(host);
    const prev = this.cache.lockState(entry);
    // A flat lock's chain is the lock alone: `acquireUpward` and `guardViaRelease` (src/lock/
    // nested.ts), which the general path runs next, hand this decision back as it is.
    const decision = decideHostRule(op.rule, prev, ref, now, NO_QUEUE, {
      globalPause,
      gateVerdictsFor: op.gateVerdictsFor,
    });
    const next = decision.next;
    let reports = staleReports;
    let members: MemberSince[] | undefined;
    if (next !== prev) {
      if (holdersChanged(prev.holders, next.holders)) {
        reports = keptReports(staleReports, prev.holders, next.holders);
        const c = holderColumnsOf(next.holders, reports);
        st.writeHolders.run(
          next.updatedAt,
          next.fencingCounter,
          c.holders,
          c.holderCount,
          c.nextExpiry,
          prev.id,
        );
      } else if (next.updatedAt !== prev.updatedAt || next.fencingCounter !== prev.fencingCounter) {
        st.writeRow.run(next.updatedAt, next.fencingCounter, prev.id);
      }
      members = this.touchMemberships(st, entry, prev, next);
    }
    for (const e of decision.events) {
      st.insertEvent.run(
        prev.id,
        next.name,
        e.type,
        e.hostId,
        e.hostName,
        e.userId,
        e.userLogin,
        e.detail,
        now,
      );
    }

    // Every statement succeeded: now the cache may know.
    if (checksIn) host.last_checkin_at = now;
    this.cache.hostRuleWrote(entry, { prev, next, staleReports: reports, members });
    this.answered++;
    return { ...verdictOf(decision), lock: next, now, globalPause };
  }

  /**
   * A new holder is a member from now. New holders are those with a token beyond the lock's
   * counter before the change (tokens only grow): the last ones, in token order.
   */
  private touchMemberships(
    st: Statements,
    entry: CachedLock,
    prev: LockState,
    next: LockState,
  ): MemberSince[] | undefined {
    let touched: MemberSince[] | undefined;
    for (let i = next.holders.length - 1; i >= 0; i--) {
      const h = next.holders[i]!;
      if (h.fencingToken <= prev.fencingCounter) break;
      const since = entry.memberSince?.get(h.hostId);
      // the statement would find last_acquired_at within MEMBER_TOUCH_EVERY_MS and write nothing
      if (since !== undefined && since > h.acquiredAt - MEMBER_TOUCH_EVERY_MS) continue;
      const floor = h.acquiredAt - MEMBER_TOUCH_EVERY_MS;
      const { changes } = st.touchMember.run(prev.id, h.hostId, h.acquiredAt, prev.id, h.hostId, floor);
      // written: it is acquired_at now; not written: it was younger than MEMBER_TOUCH_EVERY_MS
      (touched ??= []).push({ hostId: h.hostId, since: changes > 0 ? h.acquiredAt : floor + 1 });
    }
    return touched;
  }

  /** Once per cached lock: the stored holders' stale reports (a read, nothing written). */
  private readStaleReports(st: Statements, entry: CachedLock): ReadonlyMap<number, number> {
    if (entry.holders.length === 0) return NO_REPORTS;
    const row = st.storedHolders.get(Number(entry.record.id)) as { holders: unknown } | undefined;
    const reports = new Map<number, number>();
    for (const h of parseStoredHolders(row?.holders)) {
      if (h.stale_reported_at !== null) reports.set(h.host_id, h.stale_reported_at);
    }
    return reports.size > 0 ? reports : NO_REPORTS;
  }
}

/**
 * A lock this path decides: known to the cache with its children (none), no parent, a fixed
 * limit, no queue entry (live or lapsed) and no slot held through a child.
 */
function isPlain(entry: CachedLock | undefined): entry is CachedLock {
  if (!entry) return false;
  const { record } = entry;
  if (record.parent_id != null || record.max_holders_pct != null) return false;
  if (entry.children === undefined || entry.children.length > 0 || entry.queue.length > 0) return false;
  for (const h of entry.holders) if (h.viaLockId != null) return false;
  return true;
}

/**
 * Whether the stored holders change (applyNext's test): unless every holder before and after
 * is one the change left as it was. Both lists are in token order and a kept holder keeps its
 * token, so that is: the same length, and the same holder at each place.
 */
function holdersChanged(prev: readonly Holder[], next: readonly Holder[]): boolean {
  if (prev.length !== next.length) return true;
  for (let i = 0; i < prev.length; i++) if (!sameStoredHolder(prev[i]!, next[i]!)) return true;
  return false;
}

/** The stale reports a change keeps: those of the holders it left as they were. */
function keptReports(
  reports: ReadonlyMap<number, number>,
  prev: readonly Holder[],
  next: readonly Holder[],
): ReadonlyMap<number, number> {
  if (reports.size === 0) return reports;
  const kept = new Map<number, number>();
  for (const hostId of keptHolders(new Map(prev.map((h) => [h.hostId, h])), next)) {
    const report = reports.get(hostId);
    if (report !== undefined) kept.set(hostId, report);
  }
  return kept.size > 0 ? kept : NO_REPORTS;
}
