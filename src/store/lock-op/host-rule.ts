// A host's acquire or release as the general lock path runs it (PostgreSQL runs it as one
// function call where it can, src/store/postgres/): `decideHostRule` on the lock, carried up the
// chain of a nested lock, answered as the HTTP layer needs it.
import { decideHostRule, verdictOf } from '../../lock/host-rules.js';
import { acquireUpward, guardViaRelease } from '../../lock/nested.js';
import type { HostRef, LockState } from '../../lock/types.js';
import type { HostLockMutation, HostRuleOp, HostRuleResult, LockOpContext } from '../store.js';

/** The `decide` of a host rule's lock operation. */
export function hostRuleDecision(
  op: HostRuleOp,
): (lock: LockState, host: HostRef, ctx: LockOpContext) => HostLockMutation<HostRuleResult> {
  return (lock, host, ctx) => {
    const globalPause = ctx.globalPause ?? null;
    const admission = { globalPause, gateVerdictsFor: op.gateVerdictsFor };
    const own = decideHostRule(op.rule, lock, host, ctx.now, ctx.queue, admission);
    // Nested locks: an acquire takes every level or none; a slot held via a child stays.
    const { decision, chain } =
      op.rule === 'acquire'
        ? acquireUpward(own, lock, host, ctx.now, ctx.family, { host }, admission)
        : { decision: guardViaRelease(own, lock, host, ctx.now), chain: undefined };
    const result: HostRuleResult = {
      ...verdictOf(decision),
      lock: decision.next,
      now: ctx.now,
      globalPause,
    };
    return { next: decision.next, events: decision.events, result, chain };
  };
}
