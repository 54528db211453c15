// A blocking acquire of a nested lock (issue 11): granted at the lock itself, it must be admitted
// at every ancestor too. An ancestor's refusal for a reason that may pass (held, full, queued)
// keeps the request waiting in the lock's own queue; a release at any ancestor wakes the
// waiters of the locks below it (src/store/nested-sql.ts `waitingBelow`).
import { acquireUpward, type ChainChange, type Family } from './nested.js';
import { isQueued, type BlockingDecision, type LiveQueue, type WaitState } from './queue.js';
import { WAITABLE, type Admission } from './rules.js';
import type { HostRef, LockState } from './types.js';

export function nestedBlockingStep(
  own: BlockingDecision,
  lock: LockState,
  host: HostRef,
  ctx: { now: number; queue: LiveQueue; family: Family },
  wait: WaitState,
  admission: Admission = {},
): { step: BlockingDecision; chain?: ChainChange } {
  if (!own.decision.ok || ctx.family.ancestors.length === 0) return { step: own };
  const { decision, chain } = acquireUpward(
    own.decision,
    lock,
    host,
    ctx.now,
    ctx.family,
    { host },
    admission,
  );
  if (decision.ok) return { step: { ...own, decision }, chain };
  // an ancestor's gates not checked yet: the service checks them and asks again at once
  if (decision.reason === 'gates_needed')
    return { step: { decision, keepWaiting: false, events: decision.events } };
  const queued = isQueued(ctx.queue, wait.waiterId);
  const keepWaiting = WAITABLE.has(decision.reason) && !wait.final && ctx.now < wait.deadline;
  return {
    step: {
      decision,
      keepWaiting,
      events: keepWaiting ? decision.events.filter((e) => e.type !== 'fail') : decision.events,
      enqueue: keepWaiting && !queued ? { deadline: wait.deadline } : undefined,
      dequeue: !keepWaiting && queued ? wait.waiterId : undefined,
    },
  };
}
