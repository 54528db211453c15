// An operator's force release as one general lock operation (src/lock/force-release.ts is the
// rule): what SQLite runs, and PostgreSQL where its server-side function (migration 16) hands
// the lock on (a nested lock, a calendar beside a queue).
import { decideOperatorRelease, meetsSlotViaChild } from '../lock/force-release.js';
import type { ForceReleaseOp, ForceReleaseResult, LockStore } from './store.js';

export async function forceReleaseByLockOp(
  store: Pick<LockStore, 'lockOp'>,
  op: ForceReleaseOp,
): Promise<ForceReleaseResult | 'via_child' | undefined> {
  const { hostName, reason } = op;
  const done = await store.lockOp<ForceReleaseResult | 'via_child'>({
    ref: op.ref,
    actor: op.actor,
    decide: (current, ctx) => {
      // a slot held through a child is freed with the child: the service's nested path
      if (meetsSlotViaChild(current, hostName)) return { events: [], result: 'via_child' };
      const { decision, auditDetail } = decideOperatorRelease(current, ctx.now, op.actor, {
        hostName,
        reason,
      });
      return {
        next: decision.next,
        events: decision.events,
        result: { lock: decision.next, now: ctx.now },
        audit:
          auditDetail === undefined
            ? undefined
            : { type: 'lock_force_release', actor: op.audit, target: current.name, detail: auditDetail },
      };
    },
  });
  return done?.result;
}
