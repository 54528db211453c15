// Nested locks: the family's names on a lock state a lock operation answers with.
import type { LockState } from '../../lock/types.js';

/** The family's names on a lock state, only where there are any. */
export function withFamily(lock: LockState, parent: string | undefined, children: string[]): LockState {
  const { parent: _parent, children: _children, ...rest } = lock;
  return {
    ...rest,
    ...(parent === undefined ? {} : { parent }),
    ...(children.length === 0 ? {} : { children }),
  };
}

/**
 * The lock a change answers with, its family's names on it: the parent it had, or the new
 * parent's (the rule only ever moves a lock to the parent the operation named).
 */
export function lockAfter(
  before: LockState,
  after: LockState,
  newParentName: string | undefined,
  children: string[],
): LockState {
  if (after === before) return after;
  const parent =
    after.parentId == null
      ? undefined
      : after.parentId === before.parentId
        ? (before.parent ?? undefined)
        : newParentName;
  return withFamily(after, parent, children);
}
