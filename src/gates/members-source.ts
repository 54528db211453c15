// The checkins gate's members: the lock's members (src/store/members.ts) — the hosts that took
// the lock within its members_days plus those an operator added — with their last check-in.
import type { MemberCheckin } from '../lock/members.js';
import type { LockState } from '../lock/types.js';
import type { Store } from '../store/store.js';

/** The lock's members and the database clock they were read at. */
export type MembersOf = (lock: LockState) => Promise<{ now: number; members: MemberCheckin[] }>;

export function lockMembersOf(store: Store): MembersOf {
  return (lock) => store.lockMembers.current(lock.id);
}
