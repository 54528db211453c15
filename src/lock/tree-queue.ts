// Nested locks, first come first served at every level (SPEC 3, blocking acquire). A place at a
// level is wanted by the level's own waiters and by the waiters of the locks below it; a
// request must not take it from one of them that asked earlier, whichever lock each asked for.
// So at each level of its chain, a request counts the earlier waiters that compete there:
//
// - the level's own waiters (its queue, as for a lock without a tree);
// - a waiter of a lock below the level, when its own lock has a place for it (it is among the
//   first as many of that lock's queue as places are free there): it waits for a place higher
//   up, at this level or above. A waiter whose own lock is full waits for that lock, not for
//   this level, and does not hold this level up (one host holding a rack for hours must not
//   stop the whole data centre). Levels between its lock and this one are taken as open: the
//   common tree of two levels (data centre, racks) is decided exactly, a deeper one nearly.
//
// A waiter whose host holds a place at the level already (through another child) wants none.
// The store reads the earlier waiters of the chain's tree (src/store/nested-sql.ts); the
// counts here are pure.

/** A live waiter in the tree of the requesting chain, queued before the request. */
export interface TreeWaiter {
  id: number;
  hostId: number;
  /** the lock it queued at */
  lockId: number;
  /**
   * the deepest lock of the requesting chain at or above `lockId`: the waiter is below (or at)
   * that level and every level of the chain above it
   */
  chainLevelId: number;
}

/** What of a waiter's own lock decides whether it has a place there. */
export interface WaiterLock {
  enabled: boolean;
  maxHolders: number;
  /** holders whose lease has not run out */
  holding: number;
}

/**
 * The earlier live waiters of a nested lock's tree (the subtree of its topmost ancestor): those
 * queued before the request's own entry, or all of them when it has none. First come first; at
 * most a bounded number (the earliest), so a count is a lower bound beyond it.
 */
export interface TreeQueue {
  /** in queue order (ascending id) */
  waiters: readonly TreeWaiter[];
  /** the locks they queued at, by id */
  locks: ReadonlyMap<number, WaiterLock>;
}

/** A level of the requesting chain: its id and who holds a place there. */
export interface ChainLevel {
  id: number;
  holders: readonly { hostId: number }[];
}

/** Whether a waiter's own lock has a place for it, `ahead` entries of that lock before it. */
function hasPlaceBelow(tree: TreeQueue, waiter: TreeWaiter, ahead: number): boolean {
  const lock = tree.locks.get(waiter.lockId);
  if (!lock || !lock.enabled) return false;
  return ahead < lock.maxHolders - lock.holding;
}

/**
 * How many earlier waiters compete for a place at `level`, the `index`-th lock of the chain
 * (0: the requested lock itself; then its ancestors, nearest first, as `chainIds` lists them).
 * The requesting host's own other entries do not count.
 */
export function competingAhead(
  tree: TreeQueue,
  chainIds: readonly number[],
  index: number,
  level: ChainLevel,
  hostId: number,
): number {
  let count = 0;
  // the waiters are in queue order: each one's place in its own lock's queue, in one pass
  const seen = new Map<number, number>();
  for (const w of tree.waiters) {
    const ahead = seen.get(w.lockId) ?? 0;
    seen.set(w.lockId, ahead + 1);
    if (w.hostId === hostId) continue;
    if (w.lockId === level.id) {
      count++;
      continue;
    }
    // the waiter's lock lies below this level: its chain level is this one or one further down
    const at = chainIds.indexOf(w.chainLevelId);
    if (at < 0 || at > index) continue;
    if (level.holders.some((h) => h.hostId === w.hostId)) continue;
    if (hasPlaceBelow(tree, w, ahead)) count++;
  }
  return count;
}
