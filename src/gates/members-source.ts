// The checkins gate's idea of a lock's members. Until lock members exist (issue 11, members),
// a member is a host that acquired the lock (an `acquire` event) within the last 30 days.
// The integrator swaps this one adapter for the members store.
import type { LockState } from '../lock/types.js';
import type { Store } from '../store/store.js';

export interface Member {
  name: string;
  /** ms since the epoch, database clock; null: never */
  lastCheckinAt: number | null;
}

/** The lock's members and the database clock they were read at. */
export type MembersOf = (lock: LockState) => Promise<{ now: number; members: Member[] }>;

const MEMBER_DAYS = 30;

export function membersFromAcquires(store: Store): MembersOf {
  return (lock) => store.gateStates.recentAcquirers(lock.id, MEMBER_DAYS * 86_400_000);
}
