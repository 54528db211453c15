// A lock's state as the spec names it: available (no holder), reserved (held), disabled;
// plus a stale badge when a holder has kept it past locks.staleAfterSeconds.
import { Label, LabelGroup } from '@patternfly/react-core';
import type { Lock } from '../api';

export type LockState = 'available' | 'reserved' | 'disabled';

export function lockState(lock: Pick<Lock, 'enabled' | 'holders'>): LockState {
  if (!lock.enabled) return 'disabled';
  return lock.holders.length > 0 ? 'reserved' : 'available';
}

const COLOR = { available: 'green', reserved: 'blue', disabled: 'grey' } as const;

export function LockStatus({ lock }: { lock: Lock }) {
  const state = lockState(lock);
  // a semaphore shows how many of its slots are taken
  const slots = lock.max_holders > 1 ? ` ${lock.holders.length}/${lock.max_holders}` : '';
  return (
    <LabelGroup>
      <Label color={COLOR[state]} data-testid="lock-state">
        {state}
        {slots}
      </Label>
      {lock.stale && <StaleBadge />}
    </LabelGroup>
  );
}

export function StaleBadge() {
  return (
    <Label color="orange" data-testid="stale">
      stale
    </Label>
  );
}
