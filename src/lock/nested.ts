// Nested locks (issue 11): a lock may name a parent, and a holder of a child also holds a slot
// in every ancestor, all or nothing. Pure: the store loads the chain (the lock's ancestors,
// nearest first, their rows taken for update) and writes what these rules answer.
//
// - Acquire: the lock's own rule decides first (a refusal there is the plain reason, as
//   foreman_dlm clients know it); then each ancestor runs the very same acquire rule
//   (`decideAcquire`) for the host, nearest first. The first ancestor that refuses refuses the
//   whole request, named: `full@dc-berlin`. Nothing is written at any level then but the lock's
//   own `fail` event (and leases that ran out).
// - A slot taken through a child is marked with that child (`viaLockId`), has no lease of its
//   own (it lives exactly as long as the child's holding) and is refreshed with the child.
// - A host holding two children of one parent shares one parent slot, released with the last
//   of them. A host that held the parent directly and then acquires a child: the slot becomes
//   one held through the child (released with it).
// - Whenever a host leaves a lock (release, lease expiry, operator, deletion), its slots taken
//   through it leave the ancestors too, unless another child still needs them (`releaseUpward`).
// - A host cannot release directly a slot it holds through a child: 412 `held` (release the child).
import { validationError } from '../errors.js';
import { decideAcquire, expireLeases, levelCalendarOf, type Admission, type Decision } from './rules.js';
import { competingAhead, type TreeQueue } from './tree-queue.js';
import { eventFor, type Actor, type EventDraft, type Holder, type HostRef, type LockState } from './types.js';

/** The deepest chain: a lock and at most seven ancestors above it. */
export const MAX_NESTING_DEPTH = 8;

/** A host's holding of another child of an ancestor (read by the store for the hosts involved). */
export interface SiblingHolding {
  hostId: number;
  parentId: number;
  childId: number;
}

/** What the store loads for a lock with a parent: its ancestors, nearest first, and sibling holdings. */
export interface Family {
  ancestors: LockState[];
  siblings: SiblingHolding[];
  /**
   * a lock with a parent or children: the earlier waiters of its tree, so every level serves
   * first come first (src/lock/tree-queue.ts); unset: none read (a lock outside every tree)
   */
  tree?: TreeQueue;
}

export interface ChainChange {
  /** each ancestor's next state, nearest first (same order as `Family.ancestors`) */
  ancestors: LockState[];
  /** the events to record at each ancestor */
  events: EventDraft[][];
}

/** Slots held through a child never expire by themselves: their lease is the child's. */
function pinned(lock: LockState): LockState {
  if (!lock.holders.some((h) => h.viaLockId != null && h.expiresAt !== null)) return lock;
  return {
    ...lock,
    holders: lock.holders.map((h) => (h.viaLockId != null ? { ...h, expiresAt: null } : h)),
  };
}

/**
 * The slots that go with the hosts that left `prev` (→ `next`; undefined: the lock is deleted):
 * at each ancestor, nearest first, a host's slot held through the level below goes unless the
 * host still holds another child of that ancestor (then it stays, through that child) or holds
 * the ancestor directly. Each freed slot gets an event like the one that freed the child's
 * (release, expire, force_release), with the detail `via <lock>`.
 */
export function releaseUpward(
  prev: LockState,
  next: LockState | undefined,
  ancestors: readonly LockState[],
  siblings: readonly SiblingHolding[],
  childEvents: readonly EventDraft[],
  now: number,
): ChainChange {
  const out: ChainChange = { ancestors: [...ancestors], events: ancestors.map(() => []) };
  // a flat lock has nothing above it: its holders (thousands, for a large semaphore) are not
  // compared at all
  if (ancestors.length === 0) return out;
  const staying = new Set(next?.holders.map((n) => n.hostId));
  let leaving = prev.holders.filter((h) => !staying.has(h.hostId)).map((h) => h.hostId);
  let below = prev.id;
  for (let i = 0; i < out.ancestors.length && leaving.length > 0; i++) {
    const level = out.ancestors[i]!;
    const stillLeaving: number[] = [];
    let holders = level.holders;
    for (const hostId of leaving) {
      const slot = holders.find((h) => h.hostId === hostId);
      if (!slot || slot.viaLockId == null) continue;
      const other = siblings.find(
        (s) => s.hostId === hostId && s.parentId === level.id && s.childId !== below,
      );
      if (other) {
        if (slot.viaLockId === below) {
          holders = holders.map((h) =>
            h === slot ? { ...h, viaLockId: other.childId, viaLockName: null } : h,
          );
        }
        continue;
      }
      holders = holders.filter((h) => h !== slot);
      const cause = childEvents.find(
        (e) =>
          e.hostId === hostId && (e.type === 'release' || e.type === 'expire' || e.type === 'force_release'),
      );
      const event = cause
        ? { ...cause, detail: `via ${prev.name}` }
        : eventFor('release', { host: { id: hostId, name: slot.hostName } }, `via ${prev.name}`);
      out.events[i]!.push({ ...event, hostId, hostName: slot.hostName });
      stillLeaving.push(hostId);
    }
    if (holders !== level.holders) out.ancestors[i] = { ...level, holders, updatedAt: now };
    leaving = stillLeaving;
    below = level.id;
  }
  return out;
}

export interface ChainDecision {
  decision: Decision;
  /** set when an ancestor changes (the host admitted or refreshed there) */
  chain?: ChainChange;
}

/**
 * An acquire (or refresh) the lock's own rule granted, carried up the chain: each ancestor's own
 * acquire rule admits (or refreshes) the host, or the first refusal refuses it all, named by
 * the level. `own` is the lock's own decision on `lock` (its state before the request).
 */
export function acquireUpward(
  own: Decision,
  lock: LockState,
  host: HostRef,
  now: number,
  family: Family,
  actor: Actor = { host },
  admission: Admission = {},
): ChainDecision {
  if (!own.ok) return { decision: own };
  const tree = family.tree;
  const chainIds = [lock.id, ...family.ancestors.map((a) => a.id)];
  // First come first served at the lock itself too: a new holder comes after the earlier
  // waiters of the locks below it that wait for a place here (src/lock/tree-queue.ts).
  if (tree && own.outcome === 'acquired') {
    const { lock: expired, events: expiredEvents } = expireLeases(lock, now);
    if (competingAhead(tree, chainIds, 0, expired, host.id) >= expired.maxHolders - expired.holders.length) {
      return {
        decision: {
          ok: false,
          reason: 'queued',
          next: expired,
          events: [...expiredEvents, eventFor('fail', actor, 'acquire: queued')],
        },
      };
    }
  }
  if (family.ancestors.length === 0) return { decision: pinnedDecision(own) };
  // hosts whose lease on this lock ran out leave the ancestors first: their places count as free
  const freed = releaseUpward(lock, own.next, family.ancestors, family.siblings, own.events, now);
  const ancestors = [...freed.ancestors];
  const events = freed.events.map((e) => [...e]);
  let below = lock;
  for (let i = 0; i < ancestors.length; i++) {
    const level = ancestors[i]!;
    // each level's own gates (verdicts by lock id) and the global pause apply, and its earlier
    // waiters (its own and those below it) are served first
    const ahead = tree ? competingAhead(tree, chainIds, i + 1, level, host.id) : 0;
    const decision = decideAcquire(level, host, now, actor, ahead, {
      globalPause: admission.globalPause,
      gateVerdictsFor: admission.gateVerdictsFor,
      blocking: admission.blocking,
    });
    if (!decision.ok) {
      const { lock: expired, events: expiredEvents } = expireLeases(lock, now);
      // an ancestor's gates not checked yet: the service checks them and asks again (no event)
      if (decision.reason === 'gates_needed') {
        return { decision: { ...decision, level: level.name, next: expired, events: expiredEvents } };
      }
      return {
        decision: {
          ok: false,
          reason: decision.reason,
          level: level.name,
          levelCalendar: levelCalendarOf(level),
          next: expired,
          events: [...expiredEvents, eventFor('fail', actor, `acquire: ${decision.reason}@${level.name}`)],
        },
      };
    }
    const mark = (h: Holder): Holder =>
      h.hostId === host.id ? { ...h, viaLockId: below.id, viaLockName: below.name, expiresAt: null } : h;
    ancestors[i] = pinned({ ...decision.next, holders: decision.next.holders.map(mark) });
    events[i]!.push(
      ...decision.events.map((e) => (e.type === 'acquire' ? { ...e, detail: `via ${lock.name}` } : e)),
    );
    below = level;
  }
  return { decision: pinnedDecision(own), chain: { ancestors, events } };
}

function pinnedDecision(decision: Decision): Decision {
  return { ...decision, next: pinned(decision.next) };
}

/**
 * A host's direct release of a slot it holds through a child is refused (412 `held`): the
 * child's holding needs it. Release the child instead (which frees the chain).
 */
export function guardViaRelease(
  decision: Decision,
  lock: LockState,
  host: HostRef,
  now: number,
  actor: Actor = { host },
): Decision {
  const slot = lock.holders.find((h) => h.hostId === host.id);
  if (!decision.ok || decision.outcome !== 'released' || !slot || slot.viaLockId == null) return decision;
  const { lock: expired, events } = expireLeases(lock, now);
  return {
    ok: false,
    reason: 'held',
    next: expired,
    events: [...events, eventFor('fail', actor, 'release: held')],
  };
}

/** A would-be parent: its id and name and the ids of its chain (itself first), rows taken for update. */
export interface ParentTarget {
  id: number;
  name: string;
  chainIds: number[];
}

/**
 * A parent must exist, must not be the lock itself or below it (a cycle), and the deepest chain
 * through the lock must stay within MAX_NESTING_DEPTH levels. `lockId`: the lock being changed
 * (undefined for a new one); `height`: how many levels hang below it. 422s naming `parent`.
 */
export function assertParent(
  lockId: number | undefined,
  target: ParentTarget | undefined,
  height: number,
): void {
  if (!target) throw validationError({ parent: ['does not name an existing lock'] });
  if (lockId !== undefined && target.chainIds.includes(lockId)) {
    throw validationError({
      parent: [`would make a cycle: '${target.name}' is this lock or one of its descendants`],
    });
  }
  const depth = target.chainIds.length + 1 + height;
  if (depth > MAX_NESTING_DEPTH) {
    throw validationError({
      parent: [`would nest ${depth} levels deep; at most ${MAX_NESTING_DEPTH} are allowed`],
    });
  }
}

/**
 * An operator's change of a lock's parent (`parent`: a name, or null for none). Only while the
 * lock is free: its holders hold no slots in the new chain (and would keep stale ones in the
 * old). Setting the holder (`host_id`) of a nested lock is refused too: a host takes a nested
 * lock by acquiring it, every level in one go.
 */
export function decideParentChange(
  current: LockState,
  next: LockState,
  change: { parent?: string | null; hostId?: number | null },
  newParent: { target: ParentTarget | undefined; subtreeHeight: number } | undefined,
): LockState {
  const nested = current.parentId != null || (current.children?.length ?? 0) > 0;
  if (change.hostId !== undefined && nested) {
    throw validationError({
      host_id: ['cannot be set on a nested lock: the host acquires it (every level at once)'],
    });
  }
  if (change.parent === undefined) return next;
  let parentId: number | null = null;
  let parent: string | null = null;
  if (change.parent !== null) {
    assertParent(current.id, newParent?.target, newParent?.subtreeHeight ?? 0);
    parentId = newParent!.target!.id;
    parent = newParent!.target!.name;
  }
  if (parentId === (current.parentId ?? null)) return next;
  if (current.holders.length > 0) {
    throw validationError({
      parent: ['can only change while the lock is free (its holders hold no slots above)'],
    });
  }
  return { ...next, parentId, parent };
}
