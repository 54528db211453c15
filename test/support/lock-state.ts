// A lock state for the pure rules' tests: a free, enabled mutex with no calendar, gates or
// lease, created at `at`; each test overrides what it is about.
import { DEFAULT_LOCK_TYPE, type LockState } from '../../src/lock/types.js';

export function lockState(over: Partial<LockState> = {}, at = 0): LockState {
  return {
    id: 7,
    name: 'l',
    type: DEFAULT_LOCK_TYPE,
    enabled: true,
    maxHolders: 1,
    leaseSeconds: null,
    windows: [],
    blackouts: [],
    pausedUntil: null,
    pauseReason: null,
    fencingCounter: 0,
    createdAt: at,
    updatedAt: at,
    holders: [],
    ...over,
  };
}
