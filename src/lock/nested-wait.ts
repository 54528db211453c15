// A blocking acquire of a nested lock (issue 11): granted at the lock itself, it must be admitted
// at every ancestor too. An ancestor's refusal for a reason that may pass (held, full, queued)
// keeps the request waiting in the lock's own queue; a release at any ancestor wakes the
// waiters of the locks below it (src/store/nested-sql.ts `waitingBelow`).
import { acquireUpward, type ChainChange, type Family } from './nested.js';
import { isQueued, type BlockingDecision, type LiveQueue, type WaitState } from './queue.js';
import { calendarRefusal } from './calendar.js';
import { levelCalendarOf, WAITABLE, type Admission } from './rules.js';
import { eventFor, type HostRef, type LockState } from './types.js';

export function nestedBlockingStep(
  own: BlockingDecision,
  lock: LockState,
  host: HostRef,
  ctx: { now: number; queue: LiveQueue; family: Family },
  wait: WaitState,
  admission: Admission = {},
): { step: BlockingDecision; chain?: ChainChange } {
  if (ctx.family.ancestors.length === 0 && !ctx.family.tree) return { step: own };
  if (!own.decision.ok) return { step: own.keepWaiting ? closedAbove(own, host, ctx, wait, admission) : own };
  const { decision, chain } = acquireUpward(
    own.decision,
    lock,
    host,
    ctx.now,
    ctx.family,
    { host },
    { ...admission, blocking: true },
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

/**
 * A request waiting at its own lock (held, full, queued) whose way up is closed by an ancestor's
 * calendar (a pause, a blackout, outside the level's windows) does not wait through it: like a
 * closed calendar at the lock itself (src/lock/rules.ts), it is refused at once, named by the
 * level (`paused@dc-berlin`). A level where the host holds a slot already (through another
 * child) is no new holding and does not count.
 */
function closedAbove(
  own: BlockingDecision,
  host: HostRef,
  ctx: { now: number; queue: LiveQueue; family: Family },
  wait: WaitState,
  admission: Admission,
): BlockingDecision {
  if (own.decision.ok) return own;
  for (const level of ctx.family.ancestors) {
    if (level.holders.some((h) => h.hostId === host.id)) continue;
    const reason = calendarRefusal(level, admission.globalPause ?? null, ctx.now);
    if (reason === undefined) continue;
    const events = [
      ...own.decision.events.filter((e) => e.type !== 'fail'),
      eventFor('fail', { host }, `acquire: ${reason}@${level.name}`),
    ];
    const queued = isQueued(ctx.queue, wait.waiterId);
    return {
      decision: {
        ok: false,
        reason,
        level: level.name,
        levelCalendar: levelCalendarOf(level),
        next: own.decision.next,
        events,
      },
      keepWaiting: false,
      events,
      dequeue: queued ? wait.waiterId : undefined,
    };
  }
  return own;
}
