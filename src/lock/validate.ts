// Validation of what users may set on a lock, with Rails-style per-field messages.
import { lockNameProblems, MAX_LOCK_NAME_LENGTH } from 'keyholder-protocol';
import { validationError, type FieldErrors } from '../errors.js';
import { DEFAULT_LOCK_TYPE } from './types.js';

// the name rule is the protocol's: the client checks the same one before it sends
export { lockNameProblems };
export const MAX_NAME_LENGTH = MAX_LOCK_NAME_LENGTH;
export const MAX_HOLDERS_LIMIT = 10_000;
export const MAX_LEASE_SECONDS = 366 * 86_400;

/** foreman_dlm's one lock type; `Dlmlock::Update` is how older API docs spell it. */
const TYPE_ALIASES: Record<string, string> = {
  [DEFAULT_LOCK_TYPE]: DEFAULT_LOCK_TYPE,
  'Dlmlock::Update': DEFAULT_LOCK_TYPE,
  'Dlmlock:Update': DEFAULT_LOCK_TYPE,
};

export function assertLockName(name: string): void {
  const problems = lockNameProblems(name);
  if (problems.length > 0) throw validationError({ name: problems });
}

export function normalizeLockType(type: string, errors: FieldErrors): string {
  const normalized = TYPE_ALIASES[type];
  if (!normalized) errors.type = [`is not included in the list (${DEFAULT_LOCK_TYPE})`];
  return normalized ?? type;
}
