// Whether a lock's calendar refuses a new holder right now: the one rule behind the overview's
// "outside window" counter and the `window = closed` search. Today that is "has windows and is
// inside none of them"; blackouts and a pause (paused_until) belong here as well, so the count
// and the search follow every calendar refusal from one place.
import type { LockState } from './types.js';
import { isInsideWindow } from './windows.js';

export function isOutsideWindow(lock: Pick<LockState, 'windows'>, now: number): boolean {
  return lock.windows.length > 0 && !isInsideWindow(lock.windows, now);
}
