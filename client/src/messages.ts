// One-line, human messages for every outcome. Pure functions of the server's answers, so the
// wording is unit-tested and the same for `keyholder lock` and `keyholder update`.
import { describeMoment, parseServerTime, splitReason } from './window-wait.js';
import { GENERIC_412, heldBySelf, holderNames, type LockJson, type ServerError } from './lock-json.js';

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

export function successLine(op: LockOp, name: string, fencingToken: string | undefined): string {
  if (op === 'release') return `released lock ${quote(name)}`;
  return `acquired lock ${quote(name)}${fencingToken ? ` (fencing token ${fencingToken})` : ''}`;
}

const REASONS: Record<string, string> = {
  disabled: 'the lock is disabled',
  host_barred: 'this host is not allowed to take locks',
  full: 'all holder slots are taken',
  outside_window: "outside the lock's maintenance window",
  held: 'held by another host',
  queued: 'other hosts are queued for it (blocking acquire) and go first',
  gate_failed: 'a health gate failed',
  paused: 'an operator paused new holders (this lock or every lock)',
  blackout: 'the lock is in a blackout (no new holders on these days)',
};

/** A refused (412) request: why, in words, and as a short reason the workflow can act on. */
export interface Refusal {
  why: string;
  /** held, full, disabled, host_barred, outside_window…; undefined when nobody can tell */
  reason: string | undefined;
}

/**
 * Why a 412 happened. keyholder says it in X-Lock-Reason/X-Lock-Holders; Foreman only sends its
 * generic text, so the lock as seen right after (a GET) explains it: who holds it, or disabled.
 */
export function explain412(
  op: LockOp,
  error: ServerError,
  lock: LockJson | undefined,
  self: string | undefined,
): Refusal {
  const { reason, holders } = error;
  if (reason !== undefined) {
    const who = holders?.length ? holders.join(', ') : undefined;
    if (reason === 'held' && who) return { reason, why: `held by ${who}` };
    if (reason === 'full' && who) return { reason, why: `${REASONS.full} (held by ${who})` };
    // keyholder names the next opening in the message: keep that part
    const opening = /the next window opens [^.;]+/.exec(error.message ?? '')?.[0];
    if (reason === 'outside_window' && opening)
      return { reason, why: `${REASONS.outside_window}; ${opening}` };
    if (reason === 'gate_failed' && error.gate) return { reason, why: `health gate ${error.gate}` };
    // nested locks: a level above refused (`paused@dc-berlin`); say which
    const { base, level } = splitReason(reason);
    const said = REASONS[base] ?? `refused by the server (${reason})`;
    const where = level !== undefined && REASONS[base] ? `${said}, at lock ${quote(level)} above it` : said;
    // a pause or blackout that says when it ends (outside_window said it above, or has no header)
    const opensAt = base === 'paused' || base === 'blackout' ? parseServerTime(error.nextWindow) : undefined;
    return { reason, why: opensAt === undefined ? where : `${where}; it opens ${describeMoment(opensAt)}` };
  }
  if (error.message && error.message !== GENERIC_412) return { reason, why: error.message };
  if (lock?.enabled === false) return { reason: 'disabled', why: REASONS.disabled! };
  if (lock && holderNames(lock).length > 0 && !heldBySelf(lock, self)) {
    return { reason: 'held', why: describeHolders(lock, self) };
  }
  if (lock && holderNames(lock).length === 0) {
    // Free and enabled right after a refusal: either it was released meanwhile, or the host itself
    // is barred (can_acquire_locks); say both rather than guess.
    return {
      reason,
      why:
        op === 'release'
          ? 'the lock is free'
          : 'refused although the lock is free now (released meanwhile, or this host may not take locks)',
    };
  }
  return { reason, why: error.message ?? GENERIC_412 };
}

export function unavailableLine(op: LockOp, name: string, why: string): string {
  return `cannot ${op} lock ${quote(name)}: ${why}`;
}
