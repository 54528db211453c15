// Lock operations as the API offers them: identify, run the pure rule inside one store
// transaction, hand back what to render. No HTTP here and no SQL.
import { setMaxListeners } from 'node:events';
import { AppError, validationError } from '../errors.js';
import { decideBlockingAcquire, isQueued, queuePosition, type WaitState } from '../lock/queue.js';
import { chainClosingAt, type Pause } from '../lock/calendar.js';
import { acquireUpward, decideParentChange } from '../lock/nested.js';
import { decideOperatorRelease } from '../lock/force-release.js';
import { nestedBlockingStep } from '../lock/nested-wait.js';
import type { HostRule } from '../lock/host-rules.js';
import { decideAcquire, type Decision, type LevelCalendar, type RejectReason } from '../lock/rules.js';
import { checkGates, credentialNames, NO_VERDICTS, type GateVerdicts } from '../lock/gates.js';
import { MAX_NESTING_DEPTH } from '../lock/nested.js';
import { GateCredentials } from '../gates/credentials.js';
import { lockMembersOf } from '../gates/members-source.js';
import { GateRunner } from '../gates/runner.js';
import { DEFAULT_LOCK_TYPE, eventFor, type Actor, type LockState } from '../lock/types.js';
import { decideUpdate, type LockChanges } from '../lock/update.js';
import { assertLockName } from '../lock/validate.js';
import { DEFAULT_MEMBERS_DAYS } from '../lock/members.js';
import type {
  AuditActor,
  EventFilter,
  HostIdentity,
  ListLocksQuery,
  LockOpContext,
  Store,
} from '../store/store.js';
import { LapsedWaiters } from './lapsed-waiters.js';
import { WaitQueues } from './wait-queue.js';

/** What a create/update may set; `hostId: null` frees the lock, a number makes that host hold it. */
export type LockAttributes = LockChanges;

export type LockAnswer =
  | { ok: true; lock: LockState; hostName: string }
  | {
      ok: false;
      lock: LockState;
      hostName: string;
      reason: RejectReason;
      at: number;
      /** the global pause the decision saw (null: none) */
      globalPause: Pause | null;
      /** reason gate_failed: the gate and why, `<name>: <detail>` */
      gate?: string;
      /** nested locks: the ancestor that refused (X-Lock-Reason `reason@level`) */
      level?: string;
      /** with `level`: that ancestor's calendar (when it opens: X-Lock-Next-Window) */
      levelCalendar?: LevelCalendar;
    };

/** The rules' answer before the service resolved "check the gates first". */
type RuleAnswer = Omit<Extract<LockAnswer, { ok: false }>, 'reason'> & {
  reason: RejectReason | 'gates_needed';
};

/**
 * How often one request checks gates and asks again because their definitions changed in
 * between (an operator editing a lock's gates while hosts poll it); then it is refused.
 */
const MAX_GATE_ROUNDS = 3;

/** A waiter looks again a little after its calendar closes, so the database's clock has passed it too. */
const CLOSING_MARGIN_MS = 100;

/** How long until the clock alone closes the calendar of the lock or a level above it. */
function closesIn(lock: LockState, ctx: LockOpContext): number | undefined {
  const at = chainClosingAt([lock, ...ctx.family.ancestors], ctx.now);
  return at === undefined ? undefined : at - ctx.now;
}

/**
 * The gate verdicts one request gathered, per lock of its chain: the lock's own and, for a
 * nested lock, each ancestor's (every level's gates apply). Fetched before the transaction that
 * needs them, never reused after a wait.
 */
class GateBook {
  private readonly byId = new Map<number, GateVerdicts>();
  /** the chain's locks by name, to name an ancestor's failed gate */
  readonly locks = new Map<string, LockState>();

  add(lock: LockState, verdicts: GateVerdicts | undefined): void {
    this.locks.set(lock.name, lock);
    if (verdicts) this.byId.set(lock.id, verdicts);
  }

  readonly verdictsFor = (lockId: number): GateVerdicts | undefined => this.byId.get(lockId);
}

/**
 * What a request knows before any gate was checked: nothing. Shared, since it is never added
 * to (chainGates fills a new book), so the lock path builds no book of its own per request.
 */
const NO_GATES_CHECKED = new GateBook();

export interface HostOpOptions {
  /** max_holders of the lock if this call creates it */
  createMaxHolders?: number;
  /** overrides hosts.autoRegister (FleetLock nodes have their own admission rules) */
  autoRegister?: boolean;
}

export interface AcquireOptions extends HostOpOptions {
  /** blocking acquire: wait up to this many seconds for the lock */
  waitSeconds?: number;
  /** aborted when the client goes away */
  signal?: AbortSignal;
}

export interface FleetAcquireOptions extends HostOpOptions {
  /** create the lock when missing (a declared FleetLock group) */
  createIfMissing: boolean;
  /** a refusal writes nothing at all: no host, no lock, no `fail` event (a node never seen) */
  nothingOnRefusal: boolean;
}

/** Thrown inside a FleetLock transaction to roll it back; never leaves this module. */
class RolledBack {
  constructor(readonly answer: RuleAnswer | LockAnswer | undefined) {}
}

export function lockNotFound(ref: string): AppError {
  return new AppError('not_found', `Resource dlmlock not found by id '${ref}'`);
}

export class LockService {
  /** aborted at shutdown: blocked requests are answered instead of holding the server up */
  private readonly stopping = new AbortController();
  /** this instance's blocked requests, woken when they may be admitted */
  readonly waits: WaitQueues;
  /** queue entries of requests that ended with an error, removed as soon as the database answers */
  readonly lapsed = new LapsedWaiters((ref, waiterId) => this.leaveQueue(ref, waiterId));

  /** health gates: checked (I/O, cached) before the transaction that admits a new holder */
  readonly gates: GateRunner;

  constructor(
    private readonly store: Store,
    private readonly autoRegister: boolean,
    gates?: GateRunner,
  ) {
    this.gates =
      gates ??
      new GateRunner({ store, credentials: new GateCredentials({}), membersOf: lockMembersOf(store) });
    this.waits = new WaitQueues(store);
    // every blocked request listens for the shutdown: as many as there are waiters
    setMaxListeners(0, this.stopping.signal);
  }

  stop(): void {
    this.stopping.abort();
    this.waits.close();
    this.lapsed.stop();
  }

  private hostIdentity(name: string): HostIdentity {
    return { name, autoRegister: this.autoRegister };
  }

  /**
   * Acquire; with `waitSeconds`, a refused request joins the lock's queue and is retried each
   * time the lock changes, until it is granted, its time is up (412) or the client goes away.
   */
  async acquire(ref: string, hostName: string, options: AcquireOptions = {}): Promise<LockAnswer> {
    const waitMs = (options.waitSeconds ?? 0) * 1000;
    if (waitMs <= 0) {
      return this.hostRule('acquire', ref, hostName, options);
    }
    assertLockName(ref);
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.stopping.signal])
      : this.stopping.signal;
    const ticket = this.waits.enter(signal);
    let waiterId: number | undefined;
    let deadline: number | undefined;
    let final = false;
    // verdicts are fetched right before the attempt that needs them, never reused after a wait
    let verdicts = NO_GATES_CHECKED;
    let gateRounds = 0;
    try {
      for (;;) {
        ticket.arm();
        const attemptVerdicts = verdicts;
        verdicts = NO_GATES_CHECKED;
        const attempt = await this.store.hostLockOp<{
          answer: RuleAnswer | LockAnswer;
          keepWaiting: boolean;
          lockId: number;
          wait: number;
          closesIn: number | undefined;
        }>({
          ref,
          createIfMissing: true,
          createWith: options.createMaxHolders ? { maxHolders: options.createMaxHolders } : undefined,
          host: { name: hostName, autoRegister: options.autoRegister ?? this.autoRegister },
          waiterId,
          actor: {},
          decide: (lock, host, ctx) => {
            deadline ??= ctx.now + waitMs;
            const wait: WaitState = { waiterId, deadline, final };
            const admission = { globalPause: ctx.globalPause, gateVerdictsFor: attemptVerdicts.verdictsFor };
            const own = decideBlockingAcquire(lock, host, ctx.now, ctx.queue, wait, admission);
            // Nested locks: granted here, each ancestor must admit the host too (or it waits on).
            const { step, chain } = nestedBlockingStep(own, lock, host, ctx, wait, admission);
            return {
              chain,
              next: step.decision.next,
              events: step.events,
              result: {
                answer: toAnswer(step.decision, hostName, ctx, attemptVerdicts),
                keepWaiting: step.keepWaiting,
                lockId: lock.id,
                wait: deadline - ctx.now,
                closesIn: closesIn(lock, ctx),
              },
              enqueue: step.enqueue,
              dequeue: step.dequeue,
            };
          },
        });
        const { answer, keepWaiting, lockId, wait, closesIn: untilClosing } = attempt.result;
        waiterId = attempt.waiterId ?? waiterId;
        if (!answer.ok && answer.reason === 'gates_needed') {
          // the lock would admit this host once its gates pass: check them and ask again at once
          if (++gateRounds > MAX_GATE_ROUNDS) return gatesKeptChanging(answer);
          verdicts = await this.chainGates(answer.lock);
          continue;
        }
        gateRounds = 0;
        // Granted, refused for good, or out of time (that attempt already left the queue).
        if (!keepWaiting) return answer as LockAnswer;
        ticket.place(lockId, waiterId);
        // A failing gate changes without the lock changing: wake up to check it again.
        const gateFailed = !answer.ok && answer.reason === 'gate_failed';
        let sleep = gateFailed ? Math.min(wait, this.gates.recheckMs(answer.lock)) : wait;
        // A window closing or a blackout day beginning changes nothing in the database and
        // wakes nobody: the waiter looks again then, and hears why it will not get in now.
        if (untilClosing !== undefined) sleep = Math.min(sleep, untilClosing + CLOSING_MARGIN_MS);
        const woke = await ticket.wait(sleep);
        if (woke === 'aborted') {
          throw this.stopping.signal.aborted
            ? new AppError('unavailable', 'Service unavailable: the server is shutting down; try again')
            : new AppError('client_gone');
        }
        if (woke === 'timeout' && sleep >= wait) final = true;
        if (gateFailed) verdicts = await this.chainGates(answer.lock);
      }
    } catch (err) {
      // Gone (client, shutdown) or failed (the database down): the entry must not hold up the
      // hosts behind it until its deadline. Removed now, or once the database answers again.
      if (waiterId !== undefined) await this.lapsed.leave(ref, waiterId, Date.now() + waitMs);
      throw err;
    } finally {
      ticket.close();
    }
  }

  /**
   * FleetLock's acquire. FleetLock is unauthenticated, so what a stranger can write is bounded:
   * the lock is created only for a declared group, and a refused node that was never seen
   * leaves nothing behind (the transaction, host registration included, is rolled back).
   * Resolves undefined when the lock does not exist and may not be created.
   */
  async fleetAcquire(
    ref: string,
    hostName: string,
    options: FleetAcquireOptions,
  ): Promise<LockAnswer | undefined> {
    assertLockName(ref);
    let verdicts = NO_GATES_CHECKED;
    for (let round = 0; ; round++) {
      const answer = await this.fleetAttempt(ref, hostName, options, verdicts);
      if (answer?.ok !== false || answer.reason !== 'gates_needed') return answer as LockAnswer | undefined;
      if (round >= MAX_GATE_ROUNDS) return gatesKeptChanging(answer);
      verdicts = await this.chainGates(answer.lock);
    }
  }

  private async fleetAttempt(
    ref: string,
    hostName: string,
    options: FleetAcquireOptions,
    verdicts: GateBook,
  ): Promise<RuleAnswer | LockAnswer | undefined> {
    try {
      const done = await this.store.hostLockOp<RuleAnswer | LockAnswer>({
        ref,
        createIfMissing: options.createIfMissing,
        createWith: options.createMaxHolders ? { maxHolders: options.createMaxHolders } : undefined,
        host: { name: hostName, autoRegister: options.autoRegister ?? this.autoRegister },
        actor: {},
        decide: (lock, host, ctx) => {
          const admission = { globalPause: ctx.globalPause, gateVerdictsFor: verdicts.verdictsFor };
          const own = decideAcquire(
            lock,
            host,
            ctx.now,
            { host },
            queuePosition(ctx.queue, undefined),
            admission,
          );
          // Nested locks: a FleetLock group's lock may have a parent too; every level or none.
          const { decision, chain } = acquireUpward(
            own,
            lock,
            host,
            ctx.now,
            ctx.family,
            { host },
            admission,
          );
          const answer = toAnswer(decision, hostName, ctx, verdicts);
          if (!decision.ok && options.nothingOnRefusal) throw new RolledBack(answer);
          return { next: decision.next, events: decision.events, result: answer, chain };
        },
      });
      return done?.result;
    } catch (err) {
      if (err instanceof RolledBack) return err.answer;
      throw err;
    }
  }

  /** A waiter whose client went away leaves the queue, so the next one is not held up. */
  private async leaveQueue(ref: string, waiterId: number | undefined): Promise<void> {
    if (waiterId === undefined) return;
    await this.store.lockOp({
      ref,
      waiterId,
      actor: {},
      decide: (_lock, ctx) => ({
        events: [],
        result: undefined,
        dequeue: isQueued(ctx.queue, waiterId) ? waiterId : undefined,
      }),
    });
  }

  release(ref: string, hostName: string, options: HostOpOptions = {}): Promise<LockAnswer> {
    return this.hostRule('release', ref, hostName, options);
  }

  private async hostRule(
    rule: HostRule,
    ref: string,
    hostName: string,
    options: HostOpOptions,
  ): Promise<LockAnswer> {
    // The name may become a new lock's name (foreman_dlm auto-creates), so it must be valid.
    assertLockName(ref);
    let gates = NO_GATES_CHECKED;
    for (let round = 0; ; round++) {
      const done = await this.store.hostRule({
        rule,
        ref,
        createWith: options.createMaxHolders ? { maxHolders: options.createMaxHolders } : undefined,
        host: { name: hostName, autoRegister: options.autoRegister ?? this.autoRegister },
        gateVerdictsFor: gates.verdictsFor,
      });
      if (done.ok) return { ok: true, lock: done.lock, hostName };
      const answer = {
        ok: false as const,
        lock: done.lock,
        hostName,
        reason: done.reason,
        at: done.now,
        globalPause: done.globalPause ?? null,
        ...(done.level !== undefined && { level: done.level }),
        ...(done.levelCalendar !== undefined && { levelCalendar: done.levelCalendar }),
      };
      if (answer.reason !== 'gates_needed') return withGate({ ...answer, reason: answer.reason }, gates);
      // The lock would admit this host once its gates pass: check them (cached) and ask again.
      if (round >= MAX_GATE_ROUNDS) return gatesKeptChanging(answer);
      gates = await this.chainGates(done.lock);
    }
  }

  /**
   * Checks (cached) the gates of the lock and of every ancestor: a nested lock's levels each
   * have their own gates, and the transaction must find a verdict for each one it meets.
   */
  private async chainGates(lock: LockState): Promise<GateBook> {
    const book = new GateBook();
    let level: LockState | undefined = lock;
    for (let depth = 0; level && depth < MAX_NESTING_DEPTH; depth++) {
      book.add(level, level.gates?.length ? await this.gates.verdicts(level) : undefined);
      level = level.parent ? await this.store.getLock(level.parent) : undefined;
    }
    return book;
  }

  /** The lock's gates' last known results (lock JSON `gate_status`). */
  gateStatus(lock: LockState) {
    return this.gates.status(lock);
  }

  /** Every credential a lock's gates name must be in the config file: a typo is a 422, not a failing gate. */
  private assertCredentials(attrs: LockAttributes): void {
    const missing = credentialNames(attrs.gates ?? []).filter((name) => !this.gates.hasCredentials(name));
    if (missing.length > 0) {
      throw validationError({
        gates: missing.map(
          (name) => `credentials '${name}' are not defined in the config file (gates.credentials)`,
        ),
      });
    }
  }

  /** GET …/lock by a host: foreman_dlm records the check-in even when only looking. */
  async showForHost(ref: string, hostName: string): Promise<LockState> {
    await this.store.touchHost(this.hostIdentity(hostName));
    return this.show(ref);
  }

  async exists(ref: string): Promise<boolean> {
    return (await this.store.getLock(ref)) !== undefined;
  }

  async hostExists(name: string): Promise<boolean> {
    return (await this.store.hostDirectory.getByName(name)) !== undefined;
  }

  async show(ref: string): Promise<LockState> {
    const lock = await this.store.getLock(ref);
    if (!lock) throw lockNotFound(ref);
    return lock;
  }

  async create(attrs: LockAttributes, actor: Actor): Promise<LockState> {
    if (attrs.name === undefined) throw validationError({ name: ["can't be blank"] });
    this.assertCredentials(attrs);
    if (attrs.hostId !== undefined && attrs.hostId !== null) {
      // A new lock is free; a holder is set by the host acquiring it (or by an update).
      throw validationError({ host_id: ['can only be set on an existing lock'] });
    }
    return this.store.createLock(
      {
        name: attrs.name,
        type: attrs.type ?? DEFAULT_LOCK_TYPE,
        enabled: attrs.enabled ?? true,
        // a percentage lock starts at 1: nobody is a member yet
        maxHolders: attrs.maxHolders ?? 1,
        maxHoldersPercent: attrs.maxHoldersPercent ?? null,
        membersDays: attrs.membersDays ?? DEFAULT_MEMBERS_DAYS,
        leaseSeconds: attrs.leaseSeconds ?? null,
        windows: attrs.windows ?? [],
        blackouts: attrs.blackouts ?? [],
        pausedUntil: attrs.pausedUntil ?? null,
        pauseReason: attrs.pausedUntil ? (attrs.pauseReason ?? null) : null,
        gates: attrs.gates ?? [],
        parent: attrs.parent ?? null,
      },
      actor,
    );
  }

  async update(ref: string, attrs: LockAttributes, actor: Actor): Promise<LockState> {
    this.assertCredentials(attrs);
    const done = await this.store.lockOp({
      ref,
      actor,
      targetHostId: typeof attrs.hostId === 'number' ? attrs.hostId : undefined,
      parentRef: typeof attrs.parent === 'string' ? attrs.parent : undefined,
      decide: (current, ctx) => {
        const updated = decideUpdate(current, attrs, ctx.now, actor, ctx.targetHost);
        const next = decideParentChange(current, updated.next, attrs, ctx.newParent);
        return { next, events: updated.events, result: next };
      },
    });
    if (!done) throw lockNotFound(ref);
    return done.result;
  }

  /**
   * An operator frees one holder (`hostName`) or every holder of a lock, with a reason that goes
   * into each `force_release` event and, in the same transaction, into the audit trail. Naming a
   * host that does not hold the lock changes nothing and says so (a typo must not look done).
   */
  async forceRelease(
    ref: string,
    by: { actor: Actor; audit: AuditActor },
    options: { hostName?: string; reason: string },
  ): Promise<LockState> {
    const { hostName, reason } = options;
    // No slot held through a child: one store operation (on PostgreSQL one call, migration 16).
    const flat = await this.store.forceRelease({ ref, actor: by.actor, audit: by.audit, hostName, reason });
    if (flat === undefined) throw lockNotFound(ref);
    if (flat !== 'via_child') return flat.lock;
    const freedBelow = await this.forceReleaseChildrenFirst(ref, by, options);
    const done = await this.store.lockOp({
      ref,
      actor: by.actor,
      decide: (current, ctx) => {
        // a slot held through a child was freed with the child (above), never on its own
        const { decision, auditDetail } = decideOperatorRelease(
          current,
          ctx.now,
          by.actor,
          { hostName, reason },
          freedBelow,
        );
        return {
          next: decision.next,
          events: decision.events,
          result: decision.next,
          audit: auditDetail
            ? { type: 'lock_force_release', actor: by.audit, target: current.name, detail: auditDetail }
            : undefined,
        };
      },
    });
    if (!done) throw lockNotFound(ref);
    return done.result;
  }

  /**
   * Nested locks: force-releasing a slot a host holds through a child frees that host's whole
   * chain: the child (and, in turn, its children) is force-released first, each in its own
   * transaction, and its release takes the slots above with it.
   */
  private async forceReleaseChildrenFirst(
    ref: string,
    by: { actor: Actor; audit: AuditActor },
    options: { hostName?: string; reason: string },
  ): Promise<boolean> {
    const tried = new Set<string>();
    for (;;) {
      const lock = await this.store.getLock(ref);
      const via = lock?.holders.find(
        (h) =>
          h.viaLockId != null &&
          (options.hostName === undefined || h.hostName === options.hostName) &&
          !tried.has(`${h.hostName}\n${h.viaLockId}`),
      );
      if (!via) return tried.size > 0;
      // once per host and child: a host that takes the child again meanwhile is not chased
      tried.add(`${via.hostName}\n${via.viaLockId}`);
      await this.forceRelease(String(via.viaLockId), by, {
        hostName: via.hostName,
        reason: options.reason,
      }).catch((err: unknown) => {
        // the child's holding ended meanwhile: nothing left to free there
        if (!(err instanceof AppError)) throw err;
      });
    }
  }

  async remove(ref: string, actor: Actor): Promise<LockState> {
    const done = await this.store.lockOp({
      ref,
      actor,
      decide: (current) => {
        // Nested locks: children first (delete them or give them another parent).
        if (current.children?.length) {
          throw validationError({
            base: [
              `lock '${current.name}' has child locks (${current.children.join(', ')}); delete or detach them first`,
            ],
          });
        }
        return { delete: true, events: [eventFor('delete', actor)], result: current };
      },
    });
    if (!done) throw lockNotFound(ref);
    return done.result;
  }

  list(query: ListLocksQuery) {
    return this.store.listLocks(query);
  }

  async events(ref: string, limit: number, offset: number, filter?: EventFilter) {
    const lock = await this.show(ref);
    return this.store.events.list(lock.id, limit, offset, filter);
  }
}

function toAnswer(
  decision: Decision,
  hostName: string,
  ctx: LockOpContext,
  gates: GateBook = NO_GATES_CHECKED,
): RuleAnswer | LockAnswer {
  if (decision.ok) return { ok: true, lock: decision.next, hostName };
  const answer = {
    ok: false as const,
    lock: decision.next,
    hostName,
    at: ctx.now,
    globalPause: ctx.globalPause ?? null,
    ...(decision.level !== undefined && { level: decision.level }),
    ...(decision.levelCalendar !== undefined && { levelCalendar: decision.levelCalendar }),
  };
  return decision.reason === 'gates_needed'
    ? { ...answer, reason: decision.reason }
    : withGate({ ...answer, reason: decision.reason }, gates);
}

/** A gate_failed refusal names the gate that failed and why (X-Lock-Gate, FleetLock's value). */
function withGate(answer: Extract<LockAnswer, { ok: false }>, gates: GateBook): LockAnswer {
  if (answer.reason !== 'gate_failed') return answer;
  // nested locks: the gate that failed may be an ancestor's
  const at = answer.level === undefined ? answer.lock : gates.locks.get(answer.level);
  const check = checkGates(at?.gates ?? [], (at && gates.verdictsFor(at.id)) ?? NO_VERDICTS);
  return {
    ...answer,
    gate: check.kind === 'failed' ? `${check.gate}: ${check.detail}` : 'gates: not checked',
  };
}

/** Gates whose definitions changed under every check: refuse rather than loop. */
function gatesKeptChanging(answer: RuleAnswer): LockAnswer {
  return { ...answer, reason: 'gate_failed', gate: 'gates: changed while being checked; try again' };
}
