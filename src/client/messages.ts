// One-line, human messages for every outcome. Pure functions of the server's answers, so the
// wording is unit-tested and the same for `keyholder lock` and `keyholder update`.
import {
  GENERIC_412,
  heldBySelf,
  holderNames,
  ownFencingToken,
  type LockJson,
  type ServerError,
} from './lock-json.js';

export type LockOp = 'acquire' | 'release';

function quote(name: string): string {
  return `'${name}'`;
}

export function describeHolders(lock: LockJson, self: string | undefined): string {
  const names = holderNames(lock);
  if (names.length === 0) return 'free';
  const me = self?.toLowerCase();
  const shown = names.map((n) =>
    n.toLowerCase() === me || (names.length === 1 && lock.host?.self) ? `${n} (this host)` : n,
  );
  const max = lock.max_holders ?? 1;
  const count = max > 1 ? ` (${names.length} of ${max})` : '';
  return `held by ${shown.join(', ')}${count}`;
}

export function statusLine(name: string, lock: LockJson | undefined, self: string | undefined): string {
  if (!lock) return `lock ${quote(name)} does not exist yet (free)`;
  const disabled = lock.enabled === false ? ', disabled' : '';
  const since = lock.host && lock.updated_at && heldBySelf(lock, self) ? ` since ${lock.updated_at}` : '';
  return `lock ${quote(name)} is ${describeHolders(lock, self)}${since}${disabled}`;
}

export function successLine(op: LockOp, name: string, lock: LockJson, self: string | undefined): string {
  if (op === 'release') return `released lock ${quote(name)}`;
  const token = ownFencingToken(lock, self);
  return `acquired lock ${quote(name)}${token ? ` (fencing token ${token})` : ''}`;
}

const REASONS: Record<string, string> = {
  disabled: 'the lock is disabled',
  host_barred: 'this host is not allowed to take locks',
  full: 'all holder slots are taken',
  outside_window: 'outside the maintenance window',
  held: 'held by another host',
};

/**
 * Why a 412 happened. keyholder says it in `message`/`reason`; Foreman only sends its generic
 * text, so the lock as seen right after (a GET) explains it: who holds it, or that it is disabled.
 */
export function explain412(
  op: LockOp,
  error: ServerError,
  lock: LockJson | undefined,
  self: string | undefined,
): string {
  if (error.message && error.message !== GENERIC_412) return error.message;
  if (lock?.enabled === false) return REASONS.disabled!;
  if (lock && holderNames(lock).length > 0 && !heldBySelf(lock, self)) return describeHolders(lock, self);
  if (error.reason && REASONS[error.reason]) return REASONS[error.reason]!;
  if (op === 'release' && lock && holderNames(lock).length === 0) return 'the lock is free';
  return error.message ?? GENERIC_412;
}

export function unavailableLine(op: LockOp, name: string, why: string): string {
  return `cannot ${op} lock ${quote(name)}: ${why}`;
}
