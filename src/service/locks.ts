// Lock operations as the API offers them: identify, run the pure rule inside one store
// transaction, hand back what to render. No HTTP here and no SQL.
import { AppError, validationError } from '../errors.js';
import {
  decideAcquire,
  decideForceRelease,
  decideRelease,
  WAITABLE,
  type Decision,
  type RejectReason,
} from '../lock/rules.js';
import { DEFAULT_LOCK_TYPE, eventFor, type Actor, type EventDraft, type LockState } from '../lock/types.js';
import { assertLockName } from '../lock/validate.js';
import type { MaintenanceWindow } from '../lock/windows.js';
import type { AuditActor } from '../store/accounts.js';
import type { HostIdentity, ListLocksQuery, LockOpContext, Store } from '../store/store.js';
import { Wakeup } from './wakeups.js';

/** What a create/update may set; `hostId: null` frees the lock, a number makes that host hold it. */
export interface LockAttributes {
  name?: string;
  type?: string;
  enabled?: boolean;
  hostId?: number | null;
  maxHolders?: number;
  leaseSeconds?: number | null;
  windows?: MaintenanceWindow[];
}

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

  constructor(
    private readonly store: Store,
    private readonly autoRegister: boolean,
  ) {}

  stop(): void {
    this.stopping.abort();
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
      return this.hostOp(ref, hostName, options, (lock, host, now, ctx) =>
        decideAcquire(lock, host, now, { host }, ctx.waiters.length),
      );
    }
    assertLockName(ref);
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.stopping.signal])
      : this.stopping.signal;
    const wakeup = new Wakeup(this.store, signal);
    let waiterId: number | undefined;
    let deadline: number | undefined;
    let final = false;
    try {
      for (;;) {
        wakeup.arm(undefined);
        const attempt = await this.store.lockOp<{ answer: LockAnswer; lockId: number; wait: number }>({
          ref,
          createIfMissing: true,
          createWith: options.createMaxHolders ? { maxHolders: options.createMaxHolders } : undefined,
          host: { name: hostName, autoRegister: options.autoRegister ?? this.autoRegister },
          actor: {},
          decide: (current, ctx) => {
            const lock = current!;
            const host = ctx.host!;
            deadline ??= ctx.now + waitMs;
            const mine = ctx.waiters.find((w) => w.id === waiterId);
            const ahead = mine ? ctx.waiters.filter((w) => w.id < mine.id).length : ctx.waiters.length;
            const decision = decideAcquire(lock, host, ctx.now, { host }, ahead);
            const keepWaiting = !decision.ok && WAITABLE.has(decision.reason) && !final && ctx.now < deadline;
            const answer: LockAnswer = decision.ok
              ? { ok: true, lock: decision.next, hostName }
              : { ok: false, lock: decision.next, hostName, reason: decision.reason, at: ctx.now };
            return {
              next: decision.next,
              // Only the final refusal is a `fail` event, not every wake-up of a waiting host.
              events: keepWaiting ? decision.events.filter((e) => e.type !== 'fail') : decision.events,
              result: { answer, lockId: lock.id, wait: deadline - ctx.now },
              enqueue: keepWaiting && !mine ? { deadline } : undefined,
              dequeue: !keepWaiting && mine ? mine.id : undefined,
            };
          },
        });
        const { answer, lockId, wait } = attempt.result;
        waiterId = attempt.waiterId ?? waiterId;
        // Granted, refused for good, or out of time (that attempt already left the queue).
        if (answer.ok || final || !WAITABLE.has(answer.reason) || wait <= 0) return answer;
        wakeup.arm(lockId);
        const woke = await wakeup.wait(wait);
        if (woke === 'aborted') {
          await this.leaveQueue(ref, waiterId);
          throw this.stopping.signal.aborted
            ? new AppError('unavailable', 'Service unavailable: the server is shutting down; try again')
            : new AppError('client_gone');
        }
        if (woke === 'timeout') final = true;
      }
    } finally {
      wakeup.close();
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
      const { result } = await this.store.lockOp<LockAnswer>({
        ref,
        createIfMissing: options.createIfMissing,
        createWith: options.createMaxHolders ? { maxHolders: options.createMaxHolders } : undefined,
        host: { name: hostName, autoRegister: options.autoRegister ?? this.autoRegister },
        actor: {},
        decide: (lock, ctx) => {
          if (!lock) throw new RolledBack(undefined);
          const decision = decideAcquire(lock, ctx.host!, ctx.now, { host: ctx.host! }, ctx.waiters.length);
          if (!decision.ok) {
            const answer: LockAnswer = {
              ok: false,
              lock: decision.next,
              hostName,
              reason: decision.reason,
              at: ctx.now,
            };
            if (options.nothingOnRefusal) throw new RolledBack(answer);
            return { next: decision.next, events: decision.events, result: answer };
          }
          return {
            next: decision.next,
            events: decision.events,
            result: { ok: true, lock: decision.next, hostName },
          };
        },
      });
      return result;
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
      createIfMissing: false,
      actor: {},
      decide: (_lock, ctx) => ({
        events: [],
        result: undefined,
        dequeue: ctx.waiters.some((w) => w.id === waiterId) ? waiterId : undefined,
      }),
    });
  }

  release(ref: string, hostName: string, options: HostOpOptions = {}): Promise<LockAnswer> {
    return this.hostOp(ref, hostName, options, (lock, host, now) => decideRelease(lock, host, now));
  }

  private async hostOp(
    ref: string,
    hostName: string,
    options: HostOpOptions,
    rule: (
      lock: LockState,
      host: NonNullable<LockOpContext['host']>,
      now: number,
      ctx: LockOpContext,
    ) => Decision,
  ): Promise<LockAnswer> {
    // The name may become a new lock's name (foreman_dlm auto-creates), so it must be valid.
    assertLockName(ref);
    const { result } = await this.store.lockOp({
      ref,
      createIfMissing: true,
      createWith: options.createMaxHolders ? { maxHolders: options.createMaxHolders } : undefined,
      host: { name: hostName, autoRegister: options.autoRegister ?? this.autoRegister },
      actor: {},
      decide: (lock, ctx) => {
        const decision = rule(lock!, ctx.host!, ctx.now, ctx);
        const answer: LockAnswer = decision.ok
          ? { ok: true, lock: decision.next, hostName }
          : { ok: false, lock: decision.next, hostName, reason: decision.reason, at: ctx.now };
        return { next: decision.next, events: decision.events, result: answer };
      },
    });
    return result;
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
    const { lock } = await this.store.lockOp({
      ref,
      createIfMissing: false,
      actor,
      targetHostId: typeof attrs.hostId === 'number' ? attrs.hostId : undefined,
      decide: (current, ctx) => {
        if (!current) throw lockNotFound(ref);
        return { ...applyUpdate(current, attrs, actor, ctx), result: undefined };
      },
    });
    return lock!;
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
    const { lock } = await this.store.lockOp({
      ref,
      createIfMissing: false,
      actor: by.actor,
      decide: (current, ctx) => {
        if (!current) throw lockNotFound(ref);
        const decision = decideForceRelease(current, ctx.now, by.actor, hostName, reason);
        if (hostName !== undefined && (!decision.ok || decision.outcome !== 'released')) {
          throw validationError({ host: [`'${hostName}' does not hold lock '${current.name}'`] });
        }
        const freed = decision.events.filter((e) => e.type === 'force_release').map((e) => e.hostName);
        return {
          next: decision.next,
          events: decision.events,
          result: undefined,
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
    return lock!;
  }

  async remove(ref: string, actor: Actor): Promise<LockState> {
    const { result } = await this.store.lockOp({
      ref,
      createIfMissing: false,
      actor,
      decide: (current) => {
        if (!current) throw lockNotFound(ref);
        return { delete: true, events: [eventFor('delete', actor)], result: current };
      },
    });
    return result;
  }

  list(query: ListLocksQuery) {
    return this.store.listLocks(query);
  }

  async events(ref: string, limit: number, offset: number) {
    const lock = await this.show(ref);
    return this.store.listEvents(lock.id, limit, offset);
  }
}

function applyUpdate(
  current: LockState,
  attrs: LockAttributes,
  actor: Actor,
  ctx: LockOpContext,
): { next: LockState; events: EventDraft[] } {
  const events: EventDraft[] = [];
  let next: LockState = {
    ...current,
    name: attrs.name ?? current.name,
    type: attrs.type ?? current.type,
    enabled: attrs.enabled ?? current.enabled,
    maxHolders: attrs.maxHolders ?? current.maxHolders,
    leaseSeconds: attrs.leaseSeconds === undefined ? current.leaseSeconds : attrs.leaseSeconds,
    windows: attrs.windows ?? current.windows,
    updatedAt: ctx.now,
  };
  if (next.leaseSeconds !== current.leaseSeconds) {
    const lease = next.leaseSeconds;
    next.holders = next.holders.map((h) => ({
      ...h,
      expiresAt: lease === null ? null : h.refreshedAt + lease * 1000,
    }));
  }
  if (next.enabled !== current.enabled) events.push(eventFor(next.enabled ? 'enable' : 'disable', actor));

  if (attrs.hostId === null) {
    const freed = decideForceRelease(next, ctx.now, actor);
    next = freed.next;
    events.push(...freed.events);
  } else if (attrs.hostId !== undefined) {
    const target = ctx.targetHost;
    if (!target) throw validationError({ host_id: ['does not name a known host'] });
    if (!next.holders.some((h) => h.hostId === target.id)) {
      // foreman_dlm lets an operator set the holder: the others are freed, the host holds it.
      const freed = decideForceRelease(next, ctx.now, actor);
      const token = freed.next.fencingCounter + 1;
      next = {
        ...freed.next,
        fencingCounter: token,
        holders: [
          {
            hostId: target.id,
            hostName: target.name,
            acquiredAt: ctx.now,
            refreshedAt: ctx.now,
            fencingToken: token,
            expiresAt: next.leaseSeconds === null ? null : ctx.now + next.leaseSeconds * 1000,
          },
        ],
      };
      events.push(...freed.events, {
        ...eventFor('acquire', actor),
        hostId: target.id,
        hostName: target.name,
      });
    }
  }
  return { next, events };
}
