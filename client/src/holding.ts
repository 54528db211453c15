// Does this host still hold the lock it took? Judged from the lock JSON: this host among the
// holders, with the fencing token it was given (keyholder), so a hold that was lost and taken
// again meanwhile does not pass for the old one. Foreman has neither tokens nor leases: there the
// holder's name is all there is to compare.
import type { DlmClient } from './http.js';
import { heldBySelf, holderNames, ownFencingToken, type LockJson } from './lock-json.js';

export interface Hold {
  lock: string;
  /** this host's name as the server knows it (certificate CN) */
  host: string;
  /** the token of our acquire; undefined against Foreman */
  fencingToken: string | undefined;
}

export type Holding =
  { held: true; lock: LockJson; leaseSeconds: number | undefined } | { held: false; why: string };

/** Pure: the verdict on one look at the lock. */
export function judgeHolding(lock: LockJson | undefined, hold: Hold): Holding {
  if (!lock) return { held: false, why: `lock '${hold.lock}' does not exist any more` };
  if (!heldBySelf(lock, hold.host)) {
    const others = holderNames(lock);
    return {
      held: false,
      why: `this host no longer holds lock '${hold.lock}' (${others.length ? `held by ${others.join(', ')}` : 'it is free'})`,
    };
  }
  const token = ownFencingToken(lock, hold.host);
  if (hold.fencingToken !== undefined && token !== undefined && token !== hold.fencingToken) {
    return {
      held: false,
      why: `lock '${hold.lock}' was lost and taken again meanwhile (fencing token ${hold.fencingToken}, now ${token})`,
    };
  }
  return { held: true, lock, leaseSeconds: lock.lease_seconds ?? undefined };
}

export async function checkHolding(client: DlmClient, hold: Hold, signal?: AbortSignal): Promise<Holding> {
  return judgeHolding(await client.show(hold.lock, signal ? { signal } : {}), hold);
}

/**
 * Renews the lease: look first, then re-acquire (which refreshes the lease), then compare tokens.
 * Re-acquiring blindly would take a lock that was lost meanwhile afresh and hide the loss; the
 * look first avoids that, and the token comparison catches the lease running out in between
 * (the new hold is then given back at once: it was never ours to keep).
 */
export async function renewHold(client: DlmClient, hold: Hold, signal?: AbortSignal): Promise<Holding> {
  const call = signal ? { signal } : {};
  const before = await checkHolding(client, hold, signal);
  if (!before.held) return before;
  const result = await client.acquire(hold.lock, 0, call);
  if (!result.ok) {
    return {
      held: false,
      why: `renewing lock '${hold.lock}' was refused: ${result.error.message ?? 'HTTP 412'}`,
    };
  }
  const token = result.fencingToken ?? ownFencingToken(result.lock, hold.host);
  if (hold.fencingToken !== undefined && token !== undefined && token !== hold.fencingToken) {
    await client.release(hold.lock, call).catch(() => undefined);
    return {
      held: false,
      why: `the lease of lock '${hold.lock}' ran out just before it was renewed (fencing token ${hold.fencingToken}, a renewal got ${token})`,
    };
  }
  return judgeHolding(result.lock, hold);
}
