// Lock operations as the API offers them: identify, run the pure rule inside one store
// transaction, hand back what to render. No HTTP here and no SQL.
import { setMaxListeners } from 'node:events';
import { AppError, validationError } from '../errors.js';
import { decideBlockingAcquire, queuePosition, type WaitState } from '../lock/queue.js';
import type { HostRule } from '../lock/host-rules.js';
import { decideAcquire, decideForceRelease, type Decision, type RejectReason } from '../lock/rules.js';
import { DEFAULT_LOCK_TYPE, eventFor, type Actor, type LockState } from '../lock/types.js';
import { decideUpdate, type LockChanges } from '../lock/update.js';
import { assertLockName } from '../lock/validate.js';
import type { AuditActor } from '../store/accounts.js';
import type { EventFilter, HostIdentity, ListLocksQuery, LockOpContext, Store } from '../store/store.js';
import { WaitQueues } from './wait-queue.js';

/** What a create/update may set; `hostId: null` frees the lock, a number makes that host hold it. */
export type LockAttributes = LockChanges;

export type LockAnswer =
  | { ok: true; lock: LockState; hostName: string }
  | { ok: false; lock: LockState; hostName: string; reason: RejectReason; at: number };

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
  constructor(readonly answer: LockAnswer | undefined) {}
}

export function lockNotFound(ref: string): AppError {
  return new AppError('not_found', `Resource dlmlock not found by id '${ref}'`);
}

export class LockService {
  /** aborted at shutdown: blocked requests are answered instead of holding the server up */
  private readonly stopping = new AbortController();
  /** this instance's blocked requests, woken when they may be admitted */
  readonly waits: WaitQueues;

  constructor(
    private readonly store: Store,
    private readonly autoRegister: boolean,
  ) {
    this.waits = new WaitQueues(store);
    // every blocked request listens for the shutdown: as many as there are waiters
    setMaxListeners(0, this.stopping.signal);
  }

  stop(): void {
    this.stopping.abort();
    this.waits.close();
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
    try {
      for (;;) {
        ticket.arm();
        const attempt = await this.store.hostLockOp<{
          answer: LockAnswer;
          keepWaiting: boolean;
          lockId: number;
          wait: number;
        }>({
          ref,
          createIfMissing: true,
          createWith: options.createMaxHolders ? { maxHolders: options.createMaxHolders } : undefined,
          host: { name: hostName, autoRegister: options.autoRegister ?? this.autoRegister },
          actor: {},
          decide: (lock, host, ctx) => {
            deadline ??= ctx.now + waitMs;
            const wait: WaitState = { waiterId, deadline, final };
            const step = decideBlockingAcquire(lock, host, ctx.now, ctx.waiters, wait);
            return {
              next: step.decision.next,
              events: step.events,
              result: {
                answer: toAnswer(step.decision, hostName, ctx),
                keepWaiting: step.keepWaiting,
                lockId: lock.id,
                wait: deadline - ctx.now,
              },
              enqueue: step.enqueue,
              dequeue: step.dequeue,
            };
          },
        });
        const { answer, keepWaiting, lockId, wait } = attempt.result;
        waiterId = attempt.waiterId ?? waiterId;
        // Granted, refused for good, or out of time (that attempt already left the queue).
        if (!keepWaiting) return answer;
        ticket.place(lockId, waiterId);
        const woke = await ticket.wait(wait);
        if (woke === 'aborted') {
          await this.leaveQueue(ref, waiterId);
          throw this.stopping.signal.aborted
            ? new AppError('unavailable', 'Service unavailable: the server is shutting down; try again')
            : new AppError('client_gone');
        }
        if (woke === 'timeout') final = true;
      }
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
    try {
      const done = await this.store.hostLockOp<LockAnswer>({
        ref,
        createIfMissing: options.createIfMissing,
        createWith: options.createMaxHolders ? { maxHolders: options.createMaxHolders } : undefined,
        host: { name: hostName, autoRegister: options.autoRegister ?? this.autoRegister },
        actor: {},
        decide: (lock, host, ctx) => {
          const decision = decideAcquire(
            lock,
            host,
            ctx.now,
            { host },
            queuePosition(ctx.waiters, undefined),
          );
          const answer = toAnswer(decision, hostName, ctx);
          if (!decision.ok && options.nothingOnRefusal) throw new RolledBack(answer);
          return { next: decision.next, events: decision.events, result: answer };
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
      actor: {},
      decide: (_lock, ctx) => ({
        events: [],
        result: undefined,
        dequeue: ctx.waiters.some((w) => w.id === waiterId) ? waiterId : undefined,
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
    const done = await this.store.hostRule({
      rule,
      ref,
      createWith: options.createMaxHolders ? { maxHolders: options.createMaxHolders } : undefined,
      host: { name: hostName, autoRegister: options.autoRegister ?? this.autoRegister },
    });
    return done.ok
      ? { ok: true, lock: done.lock, hostName }
      : { ok: false, lock: done.lock, hostName, reason: done.reason, at: done.now };
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
    return (await this.store.getHost(name)) !== undefined;
  }

  async show(ref: string): Promise<LockState> {
    const lock = await this.store.getLock(ref);
    if (!lock) throw lockNotFound(ref);
    return lock;
  }

  async create(attrs: LockAttributes, actor: Actor): Promise<LockState> {
    if (attrs.name === undefined) throw validationError({ name: ["can't be blank"] });
    if (attrs.hostId !== undefined && attrs.hostId !== null) {
      // A new lock is free; a holder is set by the host acquiring it (or by an update).
      throw validationError({ host_id: ['can only be set on an existing lock'] });
    }
    return this.store.createLock(
      {
        name: attrs.name,
        type: attrs.type ?? DEFAULT_LOCK_TYPE,
        enabled: attrs.enabled ?? true,
        maxHolders: attrs.maxHolders ?? 1,
        leaseSeconds: attrs.leaseSeconds ?? null,
        windows: attrs.windows ?? [],
      },
      actor,
    );
  }

  async update(ref: string, attrs: LockAttributes, actor: Actor): Promise<LockState> {
    const done = await this.store.lockOp({
      ref,
      actor,
      targetHostId: typeof attrs.hostId === 'number' ? attrs.hostId : undefined,
      decide: (current, ctx) => {
        const { next, events } = decideUpdate(current, attrs, ctx.now, actor, ctx.targetHost);
        return { next, events, result: next };
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
    const done = await this.store.lockOp({
      ref,
      actor: by.actor,
      decide: (current, ctx) => {
        const decision = decideForceRelease(current, ctx.now, by.actor, { hostName, reason });
        if (hostName !== undefined && (!decision.ok || decision.outcome !== 'released')) {
          throw validationError({ host: [`'${hostName}' does not hold lock '${current.name}'`] });
        }
        const freed = decision.events.filter((e) => e.type === 'force_release').map((e) => e.hostName);
        return {
          next: decision.next,
          events: decision.events,
          result: decision.next,
          audit: freed.length
            ? {
                type: 'lock_force_release',
                actor: by.audit,
                target: current.name,
                detail: `released ${freed.join(', ')}: ${reason}`,
              }
            : undefined,
        };
      },
    });
    if (!done) throw lockNotFound(ref);
    return done.result;
  }

  async remove(ref: string, actor: Actor): Promise<LockState> {
    const done = await this.store.lockOp({
      ref,
      actor,
      decide: (current) => ({ delete: true, events: [eventFor('delete', actor)], result: current }),
    });
    if (!done) throw lockNotFound(ref);
    return done.result;
  }

  list(query: ListLocksQuery) {
    return this.store.listLocks(query);
  }

  async events(ref: string, limit: number, offset: number, filter?: EventFilter) {
    const lock = await this.show(ref);
    return this.store.listEvents(lock.id, limit, offset, filter);
  }
}

function toAnswer(decision: Decision, hostName: string, ctx: LockOpContext): LockAnswer {
  return decision.ok
    ? { ok: true, lock: decision.next, hostName }
    : { ok: false, lock: decision.next, hostName, reason: decision.reason, at: ctx.now };
}
