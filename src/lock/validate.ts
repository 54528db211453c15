// Validation of what users may set on a lock, with Rails-style per-field messages.
import { validationError, type FieldErrors } from '../errors.js';
import { DEFAULT_LOCK_TYPE } from './types.js';

export const MAX_NAME_LENGTH = 255;
export const MAX_HOLDERS_LIMIT = 10_000;
export const MAX_LEASE_SECONDS = 366 * 86_400;

/** foreman_dlm's one lock type; `Dlmlock::Update` is how older API docs spell it. */
const TYPE_ALIASES: Record<string, string> = {
  [DEFAULT_LOCK_TYPE]: DEFAULT_LOCK_TYPE,
  'Dlmlock::Update': DEFAULT_LOCK_TYPE,
  'Dlmlock:Update': DEFAULT_LOCK_TYPE,
};

export function lockNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.trim() === '') problems.push("can't be blank");
  if (name.length > MAX_NAME_LENGTH) problems.push(`is too long (maximum is ${MAX_NAME_LENGTH} characters)`);
  if (name.includes('/')) problems.push('must not contain /');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) problems.push('must not contain control characters');
  return problems;
}

export function assertLockName(name: string): void {
  const problems = lockNameProblems(name);
  if (problems.length > 0) throw validationError({ name: problems });
}

export function normalizeLockType(type: string, errors: FieldErrors): string {
  const normalized = TYPE_ALIASES[type];
  if (!normalized) errors.type = [`is not included in the list (${DEFAULT_LOCK_TYPE})`];
  return normalized ?? type;
}
