// The writing half of a lock operation (runLockOp in src/store/sql-store.ts): what the rule
// decided, written in the same transaction — the ancestors' chain, the lock's next state or its
// deletion, the events, the audit record, the queue rows — and, last, what the operation wrote
// told to the strategy that reads for the next one (src/store/lock-reads.ts).
import type { HostRef, LockState } from '../../lock/types.js';
import { membersAdded, membershipCutoff, withMembersCount } from '../../lock/members.js';
import { releaseUpward } from '../../lock/nested.js';
import { mayAdmitWaiters } from '../../lock/queue.js';
import { insertAudit } from '../audit.js';
import { clearViaLock } from '../holders-json.js';
import { applyNext, holdersAfter, insertEvents, recordAfter, rememberFencingCounter } from '../lock-sql.js';
import type { LockOpWrites } from '../lock-reads.js';
import { countMembers } from '../members.js';
import type { Tx } from '../sql.js';
import type { HostLockMutation } from '../store.js';
import type { LockOpState } from './context.js';

/** Waiters whose request timed out elsewhere (or whose instance died) leave the queue here. */
export async function deleteLapsed(tx: Tx, s: LockOpState): Promise<void> {
  const gone = s.read.lapsed;
  if (gone.length === 0) return;
  await tx.defer(`DELETE FROM lock_waiters WHERE id IN (${gone.map(() => '?').join(', ')})`, [
    ...gone.map((w) => w.id),
  ]);
}

/** What writing the ancestors changed: the levels where a place may have opened, the rows written. */
export interface AncestorWrites {
  freedLevels: number[];
  changed: number[];
}

/**
 * Nested locks: hosts that left this lock leave the slots they held through it in the ancestors;
 * an acquire carried up the chain (`mutation.chain`) takes its slots. Each ancestor that changed
 * is written, with its events.
 */
export async function writeAncestors(
  tx: Tx,
  s: LockOpState,
  mutation: HostLockMutation<unknown>,
): Promise<AncestorWrites> {
  const chain = releaseUpward(
    s.lock,
    mutation.delete ? undefined : (mutation.next ?? s.lock),
    mutation.chain?.ancestors ?? s.ancestors,
    s.family.siblings,
    mutation.events,
    s.now,
  );
  const out: AncestorWrites = { freedLevels: [], changed: [] };
  for (const [i, before] of s.ancestors.entries()) {
    const after = chain.ancestors[i]!;
    if (after !== before) {
      await applyNext(tx, before, after);
      out.changed.push(before.id);
    }
    await insertEvents(
      tx,
      before.id,
      before.name,
      [...(mutation.chain?.events[i] ?? []), ...chain.events[i]!],
      s.now,
    );
    if (mayAdmitWaiters(before, after)) out.freedLevels.push(before.id);
  }
  return out;
}

/**
 * The lock goes; its fencing counter stays with its name. The lock's own events go with it
 * (foreman_dlm); the deletion itself stays on record.
 */
export async function writeDeletion(
  tx: Tx,
  s: LockOpState,
  mutation: HostLockMutation<unknown>,
): Promise<void> {
  const { lock } = s;
  await tx.run('DELETE FROM locks WHERE id = ?', [lock.id]);
  await clearViaLock(tx, lock.id);
  await rememberFencingCounter(tx, lock.name, lock.fencingCounter);
  await insertEvents(tx, null, lock.name, mutation.events, s.now);
}

/**
 * The answer shows the members after the change: the count again when `members_days` changed,
 * plus the new holders that were not members. Written into `next`, the object the result holds.
 */
export async function countMembersAfter(tx: Tx, s: LockOpState, next: LockState): Promise<void> {
  if (!s.members) return;
  let count = s.members.count;
  if (next.membersDays !== s.lock.membersDays) {
    count = (await countMembers(tx, s.lock.id, membershipCutoff(s.now, next.membersDays ?? 0))).count;
  }
  const known =
    s.candidate === undefined ? undefined : { hostId: s.candidate, isMember: s.members.hostIsMember };
  Object.assign(next, withMembersCount(next, count + membersAdded(s.lock, next, known)));
}

/**
 * The lock's next state, its events, the audit record, and the queue rows: the entry served or
 * gone leaves, a blocking acquire's new entry joins (its id answered).
 */
export async function writeChange(
  tx: Tx,
  s: LockOpState,
  mutation: HostLockMutation<unknown>,
  enqueue: { host: HostRef | undefined; instanceId: string },
): Promise<number | undefined> {
  const next = mutation.next ?? s.lock;
  if (mutation.next) await applyNext(tx, s.lock, mutation.next);
  await insertEvents(tx, s.lock.id, next.name, mutation.events, s.now);
  if (mutation.audit) {
    const { type, actor, target, detail } = mutation.audit;
    await insertAudit(tx, type, actor, target, detail, s.now);
  }
  if (mutation.dequeue !== undefined) {
    await tx.defer('DELETE FROM lock_waiters WHERE id = ?', [mutation.dequeue]);
  }
  const { host } = enqueue;
  if (!mutation.enqueue || !host) return undefined;
  const row = await tx.get<{ id: number }>(
    `INSERT INTO lock_waiters (lock_id, host_id, created_at, deadline, instance_id)
     VALUES (?, ?, ?, ?, ?) RETURNING id`,
    [s.lock.id, host.id, s.now, mutation.enqueue.deadline, enqueue.instanceId],
  );
  return row ? Number(row.id) : undefined;
}

/** What a change wrote, as the reading strategy must hear it (SQLite's writer cache). */
export function writesOf(
  s: LockOpState,
  mutation: HostLockMutation<unknown>,
  ancestorsChanged: readonly number[],
  enqueued: { waiterId: number | undefined; host: HostRef | undefined; instanceId: string },
): LockOpWrites {
  const next = mutation.next ?? s.lock;
  const lapsed = s.read.lapsed.map((w) => w.id);
  const { waiterId, host } = enqueued;
  return {
    lockId: s.lock.id,
    record: mutation.next ? recordAfter(s.record, s.lock, mutation.next) : s.record,
    holders: mutation.next ? holdersAfter(s.lock, mutation.next) : s.read.holders,
    dequeued: mutation.dequeue === undefined ? lapsed : [...lapsed, mutation.dequeue],
    enqueued:
      waiterId === undefined || !host || !mutation.enqueue
        ? undefined
        : {
            id: waiterId,
            hostId: host.id,
            deadline: mutation.enqueue.deadline,
            instanceId: enqueued.instanceId,
          },
    alsoChanged: ancestorsChanged,
    // a rename moves fencing counters and children's names, a new parent two families
    forgetAll: next.name !== s.lock.name || s.newParent !== undefined,
  };
}

/** A deletion changed more than one lock can say: every lock is read again from the database. */
export function writesOfDeletion(s: LockOpState, ancestorsChanged: readonly number[]): LockOpWrites {
  return {
    lockId: s.lock.id,
    record: s.record,
    dequeued: [],
    alsoChanged: ancestorsChanged,
    forgetAll: true,
  };
}
