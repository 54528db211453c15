// keyholder-protocol: what the server (src/) and the host-side client (client/) agree on. It
// imports nothing, so either side may use it without pulling in the other.
export { MAX_LOCK_NAME_LENGTH, lockNameProblems } from './lock-name.js';
export { MAX_WAIT_SECONDS, clampWait } from './wait.js';
export {
  CALENDAR_REASONS,
  LOCK_REASONS,
  isCalendarReason,
  isLockReason,
  type CalendarReason,
  type LockReason,
} from './reasons.js';
export { HEADERS } from './headers.js';
export { ERROR_KINDS, PRECONDITION_FAILED_MESSAGE, type ErrorBody, type ErrorKind } from './errors.js';
export type { BlackoutJson, HolderJson, LockJson, WindowJson } from './lock-json.js';
