// One table of lock-rule cases, run three ways: through the pure rules of src/lock (the
// reference), through each store's general path (the TypeScript rule inside the store's
// transaction), and through `store.hostRule` — on PostgreSQL the server-side function of
// migration 6. Every step must give the same verdict, the same lock (holders, fencing tokens,
// times) as returned and as read back, and in the end the same events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateKey, type GateDefinition, type GateVerdicts } from '../../src/lock/gates.js';
import { decideHostRule, verdictOf, type Verdict } from '../../src/lock/host-rules.js';
import { decideBlockingAcquire, mayAdmitWaiters, waiterIsLive, type Waiter } from '../../src/lock/queue.js';
import { AppError } from '../../src/errors.js';
import { decideOperatorRelease } from '../../src/lock/force-release.js';
import { forceReleaseByLockOp } from '../../src/store/force-release.js';
import { waitersToWake } from '../../src/lock/wake.js';
import { decodeChangeNote, encodeChangeNote } from '../../src/store/change-note.js';
import { withMembersCount } from '../../src/lock/members.js';
import type { EventDraft, HostRef, LockState } from '../../src/lock/types.js';
import { decideUpdate, type LockChanges } from '../../src/lock/update.js';
import type { PostgresStore } from '../../src/store/postgres/index.js';
import type { Store } from '../../src/store/store.js';
import type { Pause } from '../../src/lock/calendar.js';
import { createTestDatabase, STORES, type TestDatabase } from '../support/stores.js';
import { querySql } from '../support/db-sql.js';
import { resolvesWithin } from '../support/within.js';
import pg from 'pg';

type HostKey = 'a' | 'b' | 'c' | 'd';
type Step =
  | { op: 'acquire'; host: HostKey; gates?: 'pass' | 'fail' }
  /**
   * One attempt of a blocking acquire, always through the general path (the service's wait
   * loop): the first queues the host with a deadline `forMs` from now, a later one (a woken
   * waiter trying again) goes with its queue entry.
   */
  | { op: 'wait'; host: HostKey; forMs?: number }
  | { op: 'release'; host: HostKey }
  | { op: 'force'; host?: HostKey; reason?: string }
  | { op: 'update'; changes: Omit<LockChanges, 'hostId'>; holder?: HostKey | null }
  | { op: 'sleep'; ms: number }
  /** the global pause until then (ms from now), or lifted (null) */
  | { op: 'pause'; forMs: number | null };

interface Case {
  name: string;
  lock: { maxHolders?: number; maxHoldersPercent?: number; leaseSeconds?: number | null };
  barred?: HostKey[];
  steps: Step[];
}

const operator = { user: { id: 77, login: 'parity-op' } };
const OPERATOR_AUDIT = { userId: 77, login: 'parity-op', address: '192.0.2.7' };
const ALWAYS_OPEN = [
  {
    days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
    start: '00:00',
    duration_minutes: 10_080,
    time_zone: 'UTC',
  },
] as LockChanges['windows'];
const ALWAYS_BLACK = [{ from: '2000-01-01', to: '2999-12-31', time_zone: 'Europe/Berlin', reason: 'parity' }];
const FAR = Date.parse('2999-01-01T00:00:00Z');

const GATE: GateDefinition = {
  name: 'health',
  type: 'http',
  url: 'http://127.0.0.1:9/healthz',
  cache_seconds: 10,
  timeout_seconds: 5,
};
/** what the service would hand the rule after checking GATE */
function gateVerdicts(outcome: 'pass' | 'fail' | undefined): GateVerdicts | undefined {
  if (outcome === undefined) return undefined;
  return new Map([['health', { key: gateKey(GATE), ok: outcome === 'pass', detail: 'HTTP 503' }]]);
}

const CASES: Case[] = [
  {
    name: 'mutex: acquire, refusal, refresh, release, release of a free lock and of another host',
    lock: {},
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'acquire', host: 'a' },
      { op: 'release', host: 'b' },
      { op: 'release', host: 'a' },
      { op: 'release', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'release', host: 'a' },
    ],
  },
  {
    name: 'semaphore of 2: full, a place freed, tokens only grow',
    lock: { maxHolders: 2 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'acquire', host: 'c' },
      { op: 'release', host: 'a' },
      { op: 'acquire', host: 'c' },
      { op: 'acquire', host: 'a' },
      { op: 'release', host: 'b' },
      { op: 'acquire', host: 'a' },
    ],
  },
  {
    name: 'semaphore of 3: a holder in the middle refreshes and releases, the others stay in order',
    lock: { maxHolders: 3 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'acquire', host: 'c' },
      { op: 'sleep', ms: 5 },
      { op: 'acquire', host: 'b' },
      { op: 'release', host: 'b' },
      { op: 'acquire', host: 'a' },
      { op: 'release', host: 'c' },
      { op: 'acquire', host: 'b' },
      { op: 'release', host: 'a' },
    ],
  },
  {
    name: 'disabled lock and barred host',
    lock: {},
    barred: ['c'],
    steps: [
      { op: 'update', changes: { enabled: false } },
      { op: 'acquire', host: 'a' },
      { op: 'release', host: 'a' },
      { op: 'update', changes: { enabled: true } },
      { op: 'acquire', host: 'c' },
      { op: 'acquire', host: 'a' },
      { op: 'update', changes: { enabled: false } },
      { op: 'release', host: 'a' },
    ],
  },
  {
    name: 'operator: one holder freed with a reason, host_id set, everyone freed',
    lock: { maxHolders: 2 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'force', host: 'a', reason: 'stuck after reboot' },
      { op: 'acquire', host: 'c' },
      { op: 'update', changes: { maxHolders: 1 }, holder: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'force' },
      { op: 'release', host: 'a' },
      { op: 'acquire', host: 'b' },
    ],
  },
  {
    name: 'operator: a host that holds nothing is refused and nothing is written; leases that ran out go first',
    lock: { maxHolders: 2, leaseSeconds: 1 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'force', host: 'b', reason: 'typo' },
      { op: 'acquire', host: 'b' },
      { op: 'sleep', ms: 1100 },
      { op: 'force', host: 'b', reason: 'its lease ran out already' },
      { op: 'acquire', host: 'c' },
      { op: 'acquire', host: 'a' },
      { op: 'sleep', ms: 1100 },
      { op: 'force', reason: 'only expiries' },
      { op: 'acquire', host: 'b' },
      { op: 'force', host: 'b', reason: 'stuck' },
      // a lease that ran out beside a holder freed: its expiry first, then the force release
      { op: 'acquire', host: 'a' },
      { op: 'sleep', ms: 600 },
      { op: 'acquire', host: 'd' },
      { op: 'sleep', ms: 600 },
      { op: 'force', reason: 'both' },
    ],
  },
  {
    name: 'lease: the expired holder goes on the next request',
    lock: { leaseSeconds: 1 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'sleep', ms: 1100 },
      { op: 'acquire', host: 'b' },
      { op: 'release', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'release', host: 'b' },
    ],
  },
  {
    name: 'lease: a release of nothing finds the one holder expired; a refusal beside an expiry',
    lock: { leaseSeconds: 1 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'sleep', ms: 1100 },
      { op: 'release', host: 'b' },
      { op: 'acquire', host: 'a' },
      { op: 'sleep', ms: 1100 },
      { op: 'acquire', host: 'b' },
      { op: 'update', changes: { enabled: false } },
      { op: 'sleep', ms: 1100 },
      { op: 'acquire', host: 'a' },
    ],
  },
  {
    name: 'semaphore with a lease: a holder expires beside another; refresh and release beside a holder',
    lock: { maxHolders: 3, leaseSeconds: 1 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'sleep', ms: 600 },
      { op: 'acquire', host: 'b' },
      { op: 'sleep', ms: 600 },
      // a's lease ran out, b's not yet: a goes, b refreshes
      { op: 'acquire', host: 'b' },
      { op: 'acquire', host: 'c' },
      { op: 'acquire', host: 'b' },
      { op: 'release', host: 'c' },
      { op: 'release', host: 'a' },
      { op: 'acquire', host: 'a' },
      { op: 'sleep', ms: 1100 },
      // every lease ran out: b's release finds nothing of its own any more
      { op: 'release', host: 'b' },
      { op: 'acquire', host: 'c' },
    ],
  },
  {
    name: 'maintenance windows (PostgreSQL hands these to the general path)',
    lock: {},
    steps: [
      { op: 'update', changes: { windows: ALWAYS_OPEN } },
      { op: 'acquire', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'release', host: 'a' },
      { op: 'update', changes: { windows: [] } },
      { op: 'acquire', host: 'b' },
    ],
  },
  {
    name: 'blackouts and a lock pause (PostgreSQL hands these to the general path)',
    lock: { maxHolders: 2 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'update', changes: { blackouts: ALWAYS_BLACK } },
      { op: 'acquire', host: 'b' },
      { op: 'acquire', host: 'a' },
      { op: 'update', changes: { blackouts: [], pausedUntil: FAR, pauseReason: 'parity' } },
      { op: 'acquire', host: 'b' },
      { op: 'acquire', host: 'a' },
      { op: 'release', host: 'a' },
      // a pause in the past pauses nothing (and is kept as given)
      { op: 'update', changes: { pausedUntil: Date.parse('2001-01-01T00:00:00Z') } },
      { op: 'acquire', host: 'b' },
      { op: 'update', changes: { pausedUntil: null } },
      { op: 'acquire', host: 'c' },
    ],
  },
  {
    name: 'the global pause (PostgreSQL hands every lock to the general path while it holds)',
    lock: { maxHolders: 3 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'pause', forMs: 3_600_000 },
      { op: 'acquire', host: 'b' },
      { op: 'acquire', host: 'a' },
      { op: 'release', host: 'a' },
      { op: 'pause', forMs: null },
      { op: 'acquire', host: 'b' },
      { op: 'pause', forMs: -1000 },
      { op: 'acquire', host: 'c' },
      { op: 'pause', forMs: null },
    ],
  },
  {
    name: 'health gates: checked for new holders only (PostgreSQL hands gated locks to the general path)',
    lock: {},
    steps: [
      { op: 'update', changes: { gates: [GATE] } },
      { op: 'acquire', host: 'a' },
      { op: 'acquire', host: 'a', gates: 'fail' },
      { op: 'acquire', host: 'a', gates: 'pass' },
      { op: 'acquire', host: 'a' },
      { op: 'acquire', host: 'b', gates: 'pass' },
      { op: 'release', host: 'a' },
      { op: 'update', changes: { gates: [] } },
      { op: 'acquire', host: 'b' },
    ],
  },
  {
    name: 'percentage: 50% of the members, who join with their first grant (PostgreSQL hands these on)',
    lock: { maxHoldersPercent: 50 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'release', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'acquire', host: 'a' },
      { op: 'release', host: 'b' },
      { op: 'acquire', host: 'c' },
      { op: 'acquire', host: 'b' },
      { op: 'acquire', host: 'a' },
      { op: 'update', changes: { maxHolders: 1 } },
      { op: 'release', host: 'a' },
      { op: 'update', changes: { maxHoldersPercent: 100 } },
      { op: 'acquire', host: 'a' },
    ],
  },
  {
    name: 'members of a plain lock: counted for operators, not for a host polling it',
    lock: { maxHolders: 2 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'update', changes: { enabled: true } },
      { op: 'release', host: 'a' },
      { op: 'acquire', host: 'a' },
      { op: 'update', changes: { maxHoldersPercent: 50 } },
      { op: 'acquire', host: 'c' },
    ],
  },
];

/**
 * Locks with a queue: hosts queue through the general path (a blocking acquire, as the service's
 * wait loop makes it), then plain acquires and releases run through the path under test — on
 * PostgreSQL the server-side function since migration 15. Besides verdicts, locks and events,
 * the queue rows and the change notes (whom each change wakes) must agree with the model.
 */
const QUEUE_CASES: Case[] = [
  {
    name: 'queue on a mutex: a release wakes the head, a plain acquire is queued behind it',
    lock: {},
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'wait', host: 'b', forMs: 60_000 },
      { op: 'acquire', host: 'c' },
      { op: 'acquire', host: 'a' },
      { op: 'release', host: 'a' },
      { op: 'acquire', host: 'c' },
      { op: 'release', host: 'c' },
      { op: 'wait', host: 'b' },
      { op: 'acquire', host: 'c' },
      { op: 'release', host: 'b' },
      { op: 'acquire', host: 'c' },
    ],
  },
  {
    name: 'queue on a semaphore of 2: refresh and refusals beside it, each release wakes as many as it frees',
    lock: { maxHolders: 2 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'wait', host: 'c', forMs: 60_000 },
      { op: 'wait', host: 'd', forMs: 60_000 },
      { op: 'acquire', host: 'a' },
      { op: 'release', host: 'c' },
      { op: 'release', host: 'a' },
      { op: 'acquire', host: 'a' },
      { op: 'release', host: 'b' },
      { op: 'wait', host: 'd' },
      { op: 'acquire', host: 'b' },
      { op: 'wait', host: 'c' },
      { op: 'release', host: 'c' },
      { op: 'release', host: 'd' },
    ],
  },
  {
    name: 'queue: a waiter whose time ran out is deleted by the next acquire, which tells the rest',
    lock: {},
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'wait', host: 'b', forMs: 700 },
      { op: 'wait', host: 'c', forMs: 60_000 },
      { op: 'sleep', ms: 900 },
      { op: 'acquire', host: 'd' },
      { op: 'release', host: 'a' },
      { op: 'acquire', host: 'd' },
      { op: 'wait', host: 'c' },
      { op: 'wait', host: 'b', forMs: 700 },
      { op: 'sleep', ms: 900 },
      { op: 'release', host: 'c' },
      { op: 'acquire', host: 'd' },
    ],
  },
  {
    name: 'queue with a lease: an expired holder leaves its place to the head; a disabled lock wakes everyone',
    lock: { leaseSeconds: 1 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'wait', host: 'b', forMs: 60_000 },
      { op: 'sleep', ms: 1100 },
      { op: 'acquire', host: 'c' },
      { op: 'release', host: 'a' },
      { op: 'wait', host: 'b' },
      { op: 'wait', host: 'c', forMs: 60_000 },
      { op: 'update', changes: { enabled: false } },
      { op: 'sleep', ms: 1100 },
      { op: 'release', host: 'b' },
      { op: 'update', changes: { enabled: true } },
      { op: 'acquire', host: 'a' },
      { op: 'wait', host: 'c' },
    ],
  },
  {
    name: 'queue: an operator frees a holder and the head is woken',
    lock: { maxHolders: 2 },
    steps: [
      { op: 'acquire', host: 'a' },
      { op: 'acquire', host: 'b' },
      { op: 'wait', host: 'c', forMs: 60_000 },
      { op: 'force', host: 'a', reason: 'stuck' },
      { op: 'acquire', host: 'd' },
      { op: 'wait', host: 'c' },
      { op: 'force' },
      { op: 'acquire', host: 'd' },
    ],
  },
];

/**
 * The members a step leaves: every host that became a new holder joins. A host's acquire or
 * release of a fixed-limit lock does not count them (null), everything else does.
 */
function withMembers(
  prev: LockState,
  next: LockState,
  step: Exclude<Step, { op: 'sleep' }>,
  members: Set<number>,
): LockState {
  for (const h of next.holders) if (!prev.holders.some((p) => p.hostId === h.hostId)) members.add(h.hostId);
  const counted =
    next.maxHoldersPercent != null || (step.op !== 'acquire' && step.op !== 'release' && step.op !== 'wait');
  return counted ? withMembersCount(next, members.size) : { ...next, membersCount: null };
}

type Path = 'general' | 'hostRule';
interface StepOut {
  verdict?: Verdict;
  lock: LockState;
  now: number;
  /** a blocking attempt: the queue entry it made */
  waiterId?: number;
}

/** A queued host as the model keeps it: its entry, its host and its deadline. */
type QueuedHost = Waiter & { host: HostKey };

/** The queue as it stands in the database, first come first. */
async function queueRows(db: TestDatabase, lockId: number) {
  const rows = await querySql<{ id: unknown; host_id: unknown; deadline: unknown }>(
    db,
    'SELECT id, host_id, deadline FROM lock_waiters WHERE lock_id = ? ORDER BY id',
    [lockId],
  );
  return rows.map((r) => ({ id: Number(r.id), hostId: Number(r.host_id), deadline: Number(r.deadline) }));
}

async function runStep(
  store: Store,
  path: Path,
  ref: string,
  hosts: Record<HostKey, HostRef>,
  step: Exclude<Step, { op: 'sleep' | 'pause' }>,
  queue: readonly QueuedHost[] = [],
): Promise<StepOut> {
  if (step.op === 'wait') {
    const mine = queue.find((w) => w.host === step.host);
    const done = await store.hostLockOp<StepOut>({
      ref,
      createIfMissing: true,
      host: { name: hosts[step.host].name, autoRegister: true },
      waiterId: mine?.id,
      actor: {},
      decide: (lock, host, ctx) => {
        const wait = {
          waiterId: mine?.id,
          deadline: mine?.deadline ?? ctx.now + (step.forMs ?? 0),
          final: false,
        };
        const b = decideBlockingAcquire(lock, host, ctx.now, ctx.queue, wait, {
          globalPause: ctx.globalPause,
        });
        return {
          next: b.decision.next,
          events: b.events,
          enqueue: b.enqueue,
          dequeue: b.dequeue,
          result: { verdict: verdictOf(b.decision), lock: b.decision.next, now: ctx.now },
        };
      },
    });
    return { ...done.result, waiterId: done.waiterId };
  }
  if (step.op === 'acquire' || step.op === 'release') {
    const rule = step.op;
    const host = { name: hosts[step.host].name, autoRegister: true };
    const verdicts = step.op === 'acquire' ? gateVerdicts(step.gates) : undefined;
    if (path === 'hostRule') {
      const {
        lock,
        now,
        globalPause: _seen,
        ...verdict
      } = await store.hostRule({
        rule,
        ref,
        host,
        gateVerdictsFor: () => verdicts,
      });
      return { verdict, lock, now };
    }
    const done = await store.hostLockOp<StepOut>({
      ref,
      createIfMissing: true,
      host,
      actor: {},
      decide: (lock, ref_, ctx) => {
        const d = decideHostRule(rule, lock, ref_, ctx.now, ctx.queue, {
          globalPause: ctx.globalPause,
          gateVerdicts: verdicts,
        });
        return {
          next: d.next,
          events: d.events,
          result: { verdict: verdictOf(d), lock: d.next, now: ctx.now },
        };
      },
    });
    return done.result;
  }
  if (step.op === 'force') {
    // the operator's force release: the store's one operation (PostgreSQL's function, migration
    // 16) against the general path it hands on to
    const op = {
      ref,
      actor: operator,
      audit: OPERATOR_AUDIT,
      hostName: step.host && hosts[step.host].name,
      reason: step.reason ?? 'parity',
    };
    const out = path === 'hostRule' ? await store.forceRelease(op) : await forceReleaseByLockOp(store, op);
    if (out === undefined || out === 'via_child') throw new Error(`force release of ${ref}: ${out}`);
    return out;
  }
  const done = await store.lockOp<StepOut>({
    ref,
    actor: operator,
    targetHostId: step.holder ? hosts[step.holder].id : undefined,
    decide: (lock, ctx) => {
      const changes = {
        ...step.changes,
        hostId: step.holder === undefined ? undefined : step.holder && hosts[step.holder].id,
      };
      const d = decideUpdate(lock, changes, ctx.now, operator, ctx.targetHost);
      return { next: d.next, events: d.events, result: { lock: d.next, now: ctx.now } };
    },
  });
  if (!done) throw new Error(`lock ${ref} vanished`);
  return done.result;
}

/**
 * The reference: the same step through the pure rules, at the clock the store reported, with
 * the live queue as the model keeps it.
 */
function model(
  lock: LockState,
  step: Exclude<Step, { op: 'sleep' | 'pause' }>,
  hosts: Record<HostKey, HostRef>,
  now: number,
  globalPause: Pause | null,
  live: readonly QueuedHost[] = [],
): {
  verdict?: Verdict;
  next: LockState;
  events: EventDraft[];
  enqueue?: { deadline: number };
  dequeue?: number;
  /** a force release's audit entry, when it freed anyone */
  auditDetail?: string;
} {
  if (step.op === 'wait') {
    const mine = live.find((w) => w.host === step.host);
    const wait = { waiterId: mine?.id, deadline: mine?.deadline ?? now + (step.forMs ?? 0), final: false };
    const b = decideBlockingAcquire(lock, hosts[step.host], now, live, wait, { globalPause });
    return {
      verdict: verdictOf(b.decision),
      next: b.decision.next,
      events: b.events,
      enqueue: b.enqueue,
      dequeue: b.dequeue,
    };
  }
  if (step.op === 'acquire' || step.op === 'release') {
    const verdicts = step.op === 'acquire' ? gateVerdicts(step.gates) : undefined;
    const d = decideHostRule(step.op, lock, hosts[step.host], now, live, {
      globalPause,
      gateVerdicts: verdicts,
    });
    return { verdict: verdictOf(d), next: d.next, events: d.events };
  }
  if (step.op === 'force') {
    const options = { hostName: step.host && hosts[step.host].name, reason: step.reason ?? 'parity' };
    const { decision, auditDetail } = decideOperatorRelease(lock, now, operator, options);
    return { next: decision.next, events: decision.events, auditDetail };
  }
  const target = step.holder ? hosts[step.holder] : undefined;
  const changes = { ...step.changes, hostId: step.holder === undefined ? undefined : (target?.id ?? null) };
  return decideUpdate(lock, changes, now, operator, target);
}

/** `holder_count` and `next_expiry` as stored */
async function holderColumnsOf(db: TestDatabase, ref: string) {
  const [row] = await querySql<{ holder_count: unknown; next_expiry: unknown }>(
    db,
    'SELECT holder_count, next_expiry FROM locks WHERE name = ?',
    [ref],
  );
  return {
    holderCount: Number(row?.holder_count),
    nextExpiry: row?.next_expiry === null ? null : Number(row?.next_expiry),
  };
}

/** …and as the holders say they must be: how many, and the earliest lease end */
function expectedColumns(lock: LockState) {
  const leases = lock.holders.map((h) => h.expiresAt).filter((e): e is number => e !== null);
  return { holderCount: lock.holders.length, nextExpiry: leases.length ? Math.min(...leases) : null };
}

/** The change notes this instance's waiters heard of a lock, and (PostgreSQL) what NOTIFY sent. */
interface Heard {
  lockId: number;
  wake?: number[];
}

describe.each(STORES)('rule parity on %s', (kind) => {
  let db: TestDatabase;
  let store: Store;
  /** the changes told to this instance's waiters */
  const local: Heard[] = [];
  /** PostgreSQL: every change note on the channel, as sent */
  const notified: string[] = [];
  let listener: pg.Client | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    store = db.open();
    await store.migrate();
    // queue entries count while their instance is alive
    await store.heartbeat(600_000, true);
    store.onLockChanged((lockId, wake) => {
      if (lockId !== null) local.push(wake === undefined ? { lockId } : { lockId, wake: [...wake] });
    });
    if (kind === 'postgres') {
      listener = new pg.Client({ connectionString: db.url });
      await listener.connect();
      listener.on('notification', (n) => notified.push(n.payload ?? ''));
      await listener.query('LISTEN keyholder_lock_changed');
    }
  });
  afterAll(async () => {
    await listener?.end();
    await store?.close();
    await db?.dispose();
  });

  const paths: Path[] = kind === 'postgres' ? ['general', 'hostRule'] : ['hostRule'];
  const table = paths.flatMap((path) => [...CASES, ...QUEUE_CASES].map((c, i) => ({ ...c, path, i })));

  it.each(table)('$path: $name', async ({ path, i, lock: settings, barred = [], steps }) => {
    const prefix = `p${i}-${path}-`;
    const hosts = {} as Record<HostKey, HostRef>;
    for (const key of ['a', 'b', 'c', 'd'] as const) {
      hosts[key] = await store.touchHost({ name: `${prefix}${key}`, autoRegister: true });
      if (barred.includes(key)) {
        await store.hostDirectory.setCanAcquire(hosts[key].name, false, {
          userId: null,
          login: '(test)',
          address: null,
        });
        hosts[key] = { ...hosts[key], canAcquireLocks: false };
      }
    }
    const ref = `${prefix}lock`;
    let expected = await store.createLock(
      {
        name: ref,
        type: 'ForemanDlm::Dlmlock::Update',
        enabled: true,
        maxHolders: settings.maxHolders ?? 1,
        maxHoldersPercent: settings.maxHoldersPercent ?? null,
        leaseSeconds: settings.leaseSeconds ?? null,
        windows: [],
      },
      {},
    );
    const members = new Set<number>();
    const events: EventDraft[] = [];
    let globalPause: Pause | null = null;
    /** the queue as the model keeps it (lapsed entries stay until an operation meets them) */
    let queue: QueuedHost[] = [];
    const heard: Heard[] = [];
    const sentBefore = notified.length;
    /** the audit entries of force releases, in order */
    const audits: string[] = [];
    for (const [n, step] of steps.entries()) {
      if (step.op === 'sleep') {
        await new Promise((r) => setTimeout(r, step.ms));
        continue;
      }
      if (step.op === 'pause') {
        const now = (await store.getGlobalPause()).now;
        globalPause = step.forMs === null ? null : { until: now + step.forMs, reason: 'parity' };
        await store.setGlobalPause(globalPause, { userId: null, login: '(test)', address: null });
        continue;
      }
      const localBefore = local.length;
      const before = withMembersCount(expected, members.size);
      const where = `step ${n} (${JSON.stringify(step)})`;
      const failed = await runStep(store, path, ref, hosts, step, queue).then(
        (got) => ({ got }),
        (err: unknown) => ({ err }),
      );
      if ('err' in failed) {
        // refused by an error (a named host that holds nothing): the rule says the same, and
        // nothing was written, told or deleted (checked by the next steps and at the end)
        const now = Date.now();
        const live = queue.filter((w) => waiterIsLive(w, now));
        const refusal = (() => {
          try {
            model(before, step, hosts, now, globalPause, live);
          } catch (err) {
            return err;
          }
          return undefined;
        })();
        expect(refusal, where).toBeInstanceOf(AppError);
        expect(failed.err, where).toBeInstanceOf(AppError);
        const shape = (e: unknown) => ({
          code: (e as AppError).code,
          fieldErrors: (e as AppError).fieldErrors,
        });
        expect(shape(failed.err), where).toEqual(shape(refusal));
        expect(local.length, where).toBe(localBefore);
        continue;
      }
      const { got } = failed;
      const live = queue.filter((w) => waiterIsLive(w, got.now));
      const want = model(before, step, hosts, got.now, globalPause, live);
      const next = withMembers(before, want.next, step, members);
      expect(got.verdict, where).toEqual(want.verdict);
      expect(got.lock, where).toEqual(next);
      // The queue afterwards: lapsed entries went, the one served left, a new one is last.
      const after: QueuedHost[] = live.filter((w) => w.id !== want.dequeue);
      if (want.enqueue && step.op === 'wait') {
        expect(got.waiterId, where).toBeDefined();
        after.push({
          id: got.waiterId!,
          hostId: hosts[step.host].id,
          host: step.host,
          deadline: want.enqueue.deadline,
          instanceExpiresAt: Number.MAX_SAFE_INTEGER,
        });
      }
      expect(await queueRows(db, expected.id), where).toEqual(
        after.map(({ id, hostId, deadline }) => ({ id, hostId, deadline })),
      );
      // Who was told: a lock with a queue whose change may let a waiter in names the head
      // waiters that may now get in (runLockOp; on PostgreSQL's function, migration 15).
      const changed =
        queue.length > 0 &&
        (mayAdmitWaiters(before, want.next) || want.dequeue !== undefined || live.length < queue.length);
      const wake = waitersToWake(want.next, after, got.now);
      const told = changed
        ? [wake === undefined ? { lockId: expected.id } : { lockId: expected.id, wake }]
        : [];
      expect(
        local.slice(localBefore).filter((h) => h.lockId === expected.id),
        where,
      ).toEqual(told);
      heard.push(...told);
      queue = after;
      if (want.auditDetail !== undefined) audits.push(want.auditDetail);
      // read back, the members are always counted
      expect(await store.getLock(ref), where).toEqual(withMembersCount(next, members.size));
      // the columns kept with the holders (migration 14) agree with them, whichever path wrote
      expect(await holderColumnsOf(db, ref), where).toEqual(expectedColumns(next));
      expected = next;
      events.push(...want.events);
    }
    if (kind === 'postgres') {
      // every instance heard the same, in order, as encodeChangeNote writes it, from this one
      const lockId = expected.id;
      const sent = async () => {
        for (;;) {
          const mine = notified.slice(sentBefore).filter((p) => decodeChangeNote(p)?.lockId === lockId);
          if (mine.length >= heard.length) return mine;
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      expect(await resolvesWithin(sent(), 5000, 'the change notes')).toEqual(
        heard.map((h) => encodeChangeNote({ ...h, from: (store as PostgresStore).instanceId })),
      );
    }
    // force releases: one audit entry each that freed anyone, with who and why
    const trail = await store.audit.list({ type: 'lock_force_release', target: ref }, 100, 0);
    expect(
      trail.events
        .filter((e) => e.target === ref)
        .reverse()
        .map((e) => [e.type, e.actorLogin, e.target, e.detail, e.address]),
    ).toEqual(
      audits.map((d) => ['lock_force_release', OPERATOR_AUDIT.login, ref, d, OPERATOR_AUDIT.address]),
    );
    const recorded = await store.events.list(expected.id, 100, 0);
    const shape = (e: {
      type: string;
      hostName: string | null;
      userLogin: string | null;
      detail: string | null;
    }) => [e.type, e.hostName, e.userLogin, e.detail];
    expect(
      recorded.events
        .reverse()
        .filter((e) => e.type !== 'create')
        .map(shape),
    ).toEqual(events.map(shape));
  });

  it('takes and gives back a lock 300 times in a row: changes within one millisecond are written too', async () => {
    const host = { name: `quick-${kind}`, autoRegister: true };
    const ref = `quick-${kind}`;
    await store.hostRule({ rule: 'acquire', ref, host });
    await store.hostRule({ rule: 'release', ref, host });
    for (let i = 0; i < 300; i++) {
      const got = await store.hostRule({ rule: 'acquire', ref, host });
      expect(got, `acquire ${i}`).toMatchObject({ ok: true, outcome: 'acquired' });
      const gone = await store.hostRule({ rule: 'release', ref, host });
      expect(gone, `release ${i}`).toMatchObject({ ok: true, outcome: 'released' });
    }
    expect((await store.getLock(ref))?.holders).toEqual([]);
  });

  it.runIf(kind === 'postgres')(
    'the server-side function answers plain locks itself, and hands the rest on',
    async () => {
      const { pool } = store as PostgresStore;
      await store.touchHost({ name: 'direct-a', autoRegister: true });
      await store.createLock(
        { name: 'direct', type: 'T', enabled: true, maxHolders: 1, leaseSeconds: null, windows: [] },
        {},
      );
      const call = async (ref: string, host: string) =>
        (
          await pool.query<{ out: unknown }>('SELECT keyholder_host_rule($1, $2, NULL, $3) AS out', [
            'acquire',
            ref,
            host,
          ])
        ).rows[0]!.out;
      expect(await call('direct', 'direct-a')).toMatchObject({ outcome: 'acquired', reason: null });
      // unknown host, missing lock, a lock with windows: NULL, and the general path runs
      expect(await call('direct', 'direct-nobody')).toBeNull();
      expect(await call('direct-missing', 'direct-a')).toBeNull();
      await store.lockOp({
        ref: 'direct',
        actor: operator,
        decide: (lock, ctx) => ({
          next: { ...lock, windows: ALWAYS_OPEN ?? [], updatedAt: ctx.now },
          events: [],
          result: 0,
        }),
      });
      expect(await call('direct', 'direct-a')).toBeNull();
      // blackouts, a paused_until (even a past one) and an active global pause: NULL too
      await store.createLock(
        { name: 'direct2', type: 'T', enabled: true, maxHolders: 1, leaseSeconds: null, windows: [] },
        {},
      );
      expect(await call('direct2', 'direct-a')).toMatchObject({ outcome: 'acquired' });
      const cli = { userId: null, login: '(test)', address: null };
      await store.setGlobalPause({ until: Date.now() + 3_600_000, reason: 'parity' }, cli);
      expect(await call('direct2', 'direct-a')).toBeNull();
      await store.setGlobalPause({ until: Date.now() - 1000, reason: 'over' }, cli);
      expect(await call('direct2', 'direct-a')).toMatchObject({ outcome: 'refreshed' });
      await store.setGlobalPause(null, cli);
      for (const change of [
        { blackouts: ALWAYS_BLACK },
        { pausedUntil: Date.parse('2001-01-01T00:00:00Z') },
      ]) {
        await store.lockOp({
          ref: 'direct2',
          actor: operator,
          decide: (lock, ctx) => ({
            next: { ...lock, blackouts: [], pausedUntil: null, ...change, updatedAt: ctx.now },
            events: [],
            result: 0,
          }),
        });
        expect(await call('direct2', 'direct-a'), JSON.stringify(change)).toBeNull();
      }
      // a percentage max_holders: the members are counted by the general path
      await store.createLock(
        {
          name: 'direct-pct',
          type: 'T',
          enabled: true,
          maxHolders: 1,
          maxHoldersPercent: 10,
          leaseSeconds: null,
          windows: [],
        },
        {},
      );
      expect(await call('direct-pct', 'direct-a')).toBeNull();

      // a lock with a queue (migration 15): answered by the function, which names whom to wake
      await store.touchHost({ name: 'direct-b', autoRegister: true });
      await store.createLock(
        { name: 'direct-q', type: 'T', enabled: true, maxHolders: 1, leaseSeconds: null, windows: [] },
        {},
      );
      expect(await call('direct-q', 'direct-a')).toMatchObject({ outcome: 'acquired' });
      const queued = await store.hostLockOp({
        ref: 'direct-q',
        createIfMissing: true,
        host: { name: 'direct-c', autoRegister: true },
        actor: {},
        decide: (_lock, _host, ctx) => ({ events: [], result: 0, enqueue: { deadline: ctx.now + 60_000 } }),
      });
      // an entry of an instance that is gone (no heartbeat row): lapsed, deleted by the next call
      const lockId = queued.lock!.id;
      await pool.query(
        `INSERT INTO lock_waiters (lock_id, host_id, created_at, deadline, instance_id)
         SELECT $1, id, 0, 9000000000000, 'gone' FROM hosts WHERE name = 'direct-b'`,
        [lockId],
      );
      expect(await call('direct-q', 'direct-b')).toMatchObject({ reason: 'held', changed: true, wake: [] });
      const release = await pool.query<{ out: unknown }>(
        "SELECT keyholder_host_rule('release', 'direct-q', NULL, 'direct-a', 'parity-instance') AS out",
      );
      expect(release.rows[0]!.out).toMatchObject({
        outcome: 'released',
        changed: true,
        wake: [queued.waiterId],
      });
      expect(await call('direct-q', 'direct-b')).toMatchObject({ reason: 'queued' });

      // an operator's force release (migration 16): answered by its function on a flat lock
      const force = async (ref: string, host: string | null) =>
        (
          await pool.query<{ out: unknown }>(
            'SELECT keyholder_force_release($1, NULL, $2, $3, 77, $4, 77, $4, NULL, NULL) AS out',
            [ref, host, 'direct', 'parity-op'],
          )
        ).rows[0]!.out;
      expect(await force('direct', 'direct-a')).toMatchObject({ outcome: 'released', holders: [] });
      expect(await force('direct', 'direct-a')).toEqual({ error: 'not_held', name: 'direct' });
      expect(await force('direct', null)).toMatchObject({ outcome: 'not_held' });
      expect(await force('direct-missing', null)).toBeNull();
      // a nested lock: every level of the chain is the general path's
      await store.createLock(
        {
          name: 'direct-child',
          type: 'T',
          enabled: true,
          maxHolders: 1,
          leaseSeconds: null,
          windows: [],
          parent: 'direct',
        },
        {},
      );
      expect(await force('direct', null)).toBeNull();
      expect(await force('direct-child', null)).toBeNull();
      expect(await call('direct-q', 'direct-b')).not.toHaveProperty('changed');
      expect(
        (await pool.query('SELECT id FROM lock_waiters WHERE lock_id = $1', [lockId])).rows.map((r) => r.id),
      ).toEqual([queued.waiterId]);
    },
  );

  it('hostRule creates a missing lock and registers an unknown host (the general path)', async () => {
    const done = await store.hostRule({
      rule: 'acquire',
      ref: `created-${kind}`,
      host: { name: `newcomer-${kind}`, autoRegister: true },
    });
    expect(done).toMatchObject({ ok: true, outcome: 'acquired' });
    expect(done.lock.holders.map((h) => [h.hostName, h.fencingToken])).toEqual([[`newcomer-${kind}`, 1]]);
    const again = await store.hostRule({
      rule: 'release',
      ref: String(done.lock.id),
      host: { name: `newcomer-${kind}`, autoRegister: false },
    });
    expect(again).toMatchObject({ ok: true, outcome: 'released', lock: { id: done.lock.id, holders: [] } });
  });
});

// ---------------------------------------------------------------------------------------------
// SQLite's fast host rule (src/store/sqlite/host-rule.ts): a second implementation of the
// host's side of the general path, on the writer's cache. The same table of cases through it,
// through the general path and through src/lock, side by side on one store; then what the
// table does not reach: the stale reports a change keeps, the membership written at most once
// a second, and the cache dropped by a failed batch or another connection's commit. Each test
// checks that the fast path answered the requests it is about.
import { join } from 'node:path';
import { holderColumns, toStoredHolders } from '../../src/store/holders-json.js';
import type { Tx } from '../../src/store/sql.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';

/** The SQLite store, with which path answered its host requests in view. */
class CountingSqliteStore extends SqliteStore {
  get fastAnswers(): number {
    return this.fastRule.answered;
  }
  /** a job that passes for a lock operation (it leaves the writer's cache as it is) */
  lockOpWrite<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.write(fn, true);
  }
}

describe('SQLite: the fast host rule, the general path and src/lock agree', () => {
  let db: TestDatabase;
  let store: CountingSqliteStore;
  const cli = { userId: null, login: '(test)', address: null };
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    store = new CountingSqliteStore(join(db.dataDir, 'keyholder.sqlite'));
    await store.migrate();
    await store.heartbeat(600_000, true);
  });
  afterAll(async () => {
    await store?.close();
    await db?.dispose();
  });

  /** a lock of the given settings and three hosts of its own, for one path */
  async function setUp(prefix: string, settings: Case['lock'], barred: HostKey[] = [], steps: Step[] = []) {
    const hosts = {} as Record<HostKey, HostRef>;
    const keys = new Set<HostKey>(['a', 'b', 'c']);
    for (const step of steps) if ('host' in step && step.host) keys.add(step.host);
    for (const key of keys) {
      hosts[key] = await store.touchHost({ name: `${prefix}${key}`, autoRegister: true });
      if (barred.includes(key)) {
        await store.hostDirectory.setCanAcquire(hosts[key].name, false, cli);
        hosts[key] = { ...hosts[key], canAcquireLocks: false };
      }
    }
    const lock = await store.createLock(
      {
        name: `${prefix}lock`,
        type: 'ForemanDlm::Dlmlock::Update',
        enabled: true,
        maxHolders: settings.maxHolders ?? 1,
        maxHoldersPercent: settings.maxHoldersPercent ?? null,
        leaseSeconds: settings.leaseSeconds ?? null,
        windows: [],
      },
      {},
    );
    return {
      hosts,
      ref: `${prefix}lock`,
      expected: lock,
      members: new Set<number>(),
      events: [] as EventDraft[],
    };
  }

  const shape = (e: {
    type: string;
    hostName: string | null;
    userLogin: string | null;
    detail: string | null;
  }) => [e.type, e.hostName, e.userLogin, e.detail];

  // the cases made of a host's acquire and release and an operator's changes (a blocking
  // acquire is the general path's alone)
  const PLAIN_STEPS: ReadonlySet<string> = new Set([
    'acquire',
    'release',
    'force',
    'update',
    'sleep',
    'pause',
  ]);
  const plainCases = CASES.map((c, i) => ({ ...c, i })).filter((c) =>
    c.steps.every((s) => PLAIN_STEPS.has(s.op)),
  );

  it.each(plainCases)('$name', async ({ i, lock: settings, barred = [], steps }) => {
    const paths: Path[] = ['hostRule', 'general'];
    const runs = [];
    for (const path of paths) runs.push(await setUp(`f${i}-${path}-`, settings, barred, steps));
    const fastBefore = store.fastAnswers;
    let globalPause: Pause | null = null;
    for (const [n, step] of steps.entries()) {
      if (step.op === 'sleep') {
        await new Promise((r) => setTimeout(r, step.ms));
        continue;
      }
      if (step.op === 'pause') {
        const now = (await store.getGlobalPause()).now;
        globalPause = step.forMs === null ? null : { until: now + step.forMs, reason: 'parity' };
        await store.setGlobalPause(globalPause, cli);
        continue;
      }
      const verdicts: (Verdict | undefined)[] = [];
      for (const [p, run] of runs.entries()) {
        const before = withMembersCount(run.expected, run.members.size);
        const where = `${paths[p]} step ${n} (${JSON.stringify(step)})`;
        const failed = await runStep(store, paths[p]!, run.ref, run.hosts, step).then(
          (got) => ({ got }),
          (err: unknown) => ({ err }),
        );
        if ('err' in failed) {
          // refused by an error (a force release naming a host that holds nothing): the rule
          // refuses alike, and nothing was written (the lock as before, no event)
          expect(() => model(before, step, run.hosts, Date.now(), globalPause), where).toThrow(AppError);
          expect(failed.err, where).toBeInstanceOf(AppError);
          expect(await store.getLock(run.ref), where).toEqual(
            withMembersCount(run.expected, run.members.size),
          );
          verdicts.push(undefined);
          continue;
        }
        const { got } = failed;
        const want = model(before, step, run.hosts, got.now, globalPause);
        const next = withMembers(before, want.next, step, run.members);
        expect(got.verdict, where).toEqual(want.verdict);
        expect(got.lock, where).toEqual(next);
        expect(await store.getLock(run.ref), where).toEqual(withMembersCount(next, run.members.size));
        expect(await holderColumnsOf(db, run.ref), where).toEqual(expectedColumns(next));
        run.expected = next;
        run.events.push(...want.events);
        verdicts.push(got.verdict);
      }
      // the two paths answered alike (the locks and hosts differ only by name)
      expect(verdicts[0], `step ${n}`).toEqual(verdicts[1]);
    }
    for (const run of runs) {
      const recorded = await store.events.list(run.expected.id, 100, 0);
      expect(
        recorded.events
          .reverse()
          .filter((e) => e.type !== 'create')
          .map(shape),
      ).toEqual(run.events.map(shape));
    }
    // each case has host requests on a plain lock, known by then: the fast path took some
    expect(store.fastAnswers).toBeGreaterThan(fastBefore);
  });

  /** `locks.holders` as stored, and as the general writer stores these holders with these reports */
  async function storedHolders(ref: string) {
    const [row] = await querySql<{ holders: string }>(db, 'SELECT holders FROM locks WHERE name = ?', [ref]);
    return row!.holders;
  }
  const written = (lock: LockState, reports: ReadonlyMap<number, number>) =>
    holderColumns(toStoredHolders(lock.holders, (id) => reports.get(id) ?? null)).holders;

  it('a semaphore with other holders: their stale reports stay, a refreshed holder loses its own', async () => {
    for (const path of ['hostRule', 'general'] as const) {
      const run = await setUp(`stale-${path}-`, { maxHolders: 3 });
      const step = (op: 'acquire' | 'release', host: HostKey) =>
        runStep(store, path, run.ref, run.hosts, { op, host });
      await step('acquire', 'a');
      await step('acquire', 'b');
      await new Promise((r) => setTimeout(r, 5));
      // the webhook feed reports both holders stale (and drops the writer's cache, as any such write)
      await store.webhookFeed.reportStale(1);
      const [stored] = await querySql<{ holders: string }>(db, 'SELECT holders FROM locks WHERE name = ?', [
        run.ref,
      ]);
      const reports = new Map<number, number>(
        (JSON.parse(stored!.holders) as { host_id: number; stale_reported_at: number }[]).map((h) => [
          h.host_id,
          h.stale_reported_at,
        ]),
      );
      expect(reports.size).toBe(2);
      // the hosts' looks at the lock make them known to the writer again; the lock is read next
      for (const key of ['a', 'b', 'c'] as const)
        await store.touchHost({ name: run.hosts[key].name, autoRegister: true });
      const fastBefore = store.fastAnswers;
      // c comes and goes beside them (the first request after the report reads the lock again)
      let got = await step('acquire', 'c');
      expect(await storedHolders(run.ref)).toBe(written(got.lock, reports));
      got = await step('release', 'c');
      expect(got.verdict).toEqual({ ok: true, outcome: 'released' });
      expect(await storedHolders(run.ref)).toBe(written(got.lock, reports));
      await new Promise((r) => setTimeout(r, 2));
      // a refresh starts a new episode: a's report goes, b's stays
      got = await step('acquire', 'a');
      expect(got.verdict).toEqual({ ok: true, outcome: 'refreshed' });
      reports.delete(run.hosts.a.id);
      expect(await storedHolders(run.ref)).toBe(written(got.lock, reports));
      got = await step('release', 'a');
      expect(await storedHolders(run.ref)).toBe(written(got.lock, reports));
      if (path === 'hostRule') expect(store.fastAnswers - fastBefore).toBeGreaterThanOrEqual(3);
      else expect(store.fastAnswers).toBe(fastBefore);
    }
  });

  it("writes a grant's membership at most once a second, as the general path does", async () => {
    for (const path of ['hostRule', 'general'] as const) {
      const run = await setUp(`member-${path}-`, {});
      const fastBefore = store.fastAnswers;
      let row: number | null = null;
      for (const pause of [0, 0, 1100, 0, 0, 1100, 0]) {
        await new Promise((r) => setTimeout(r, pause));
        const got = await runStep(store, path, run.ref, run.hosts, { op: 'acquire', host: 'a' });
        const t = got.lock.holders[0]!.acquiredAt;
        // the statement's rule (TOUCH_MEMBERSHIP_SQL): written when none was within the second
        row = row === null || t - row >= 1000 ? t : row;
        const [member] = await querySql<{ last_acquired_at: number }>(
          db,
          'SELECT last_acquired_at FROM lock_members WHERE lock_id = ? AND host_id = ?',
          [got.lock.id, run.hosts.a.id],
        );
        expect(Number(member?.last_acquired_at), `${path} at +${t - got.lock.createdAt} ms`).toBe(row);
        await runStep(store, path, run.ref, run.hosts, { op: 'release', host: 'a' });
      }
      if (path === 'hostRule') expect(store.fastAnswers - fastBefore).toBeGreaterThanOrEqual(12);
    }
  });

  const acquire = (s: Store, ref: string, name: string) =>
    s.hostRule({ rule: 'acquire', ref, host: { name, autoRegister: true } });
  const release = (s: Store, ref: string, name: string) =>
    s.hostRule({ rule: 'release', ref, host: { name, autoRegister: true } });

  it('a fast grant in a batch whose COMMIT fails is forgotten: the next host gets the next token', async () => {
    const other = new CountingSqliteStore(join(db.dataDir, 'failing-commit.sqlite'));
    try {
      await other.migrate();
      await other.heartbeat(600_000, true);
      expect(await acquire(other, 'failing', 'fc-1')).toMatchObject({ ok: true });
      expect(await release(other, 'failing', 'fc-1')).toMatchObject({ ok: true });
      const fastBefore = other.fastAnswers;
      const [acquired, poisoned] = await Promise.allSettled([
        acquire(other, 'failing', 'fc-1'),
        // a foreign-key violation that only COMMIT checks
        other.lockOpWrite(async (tx) => {
          await tx.run('PRAGMA defer_foreign_keys = ON');
          await tx.run('INSERT INTO lock_members (lock_id, host_id) VALUES (?, ?)', [999_999, 999_999]);
        }),
      ]);
      expect(other.fastAnswers).toBe(fastBefore + 1);
      expect(acquired.status).toBe('rejected');
      expect(poisoned.status).toBe('rejected');
      const next = await acquire(other, 'failing', 'fc-2');
      expect(next).toMatchObject({ ok: true, outcome: 'acquired' });
      expect(next.lock.holders.map((h) => [h.hostName, h.fencingToken])).toEqual([['fc-2', 2]]);
      // and once known again, the fast path goes on from what the database says
      expect(await release(other, 'failing', 'fc-2')).toMatchObject({ ok: true });
      const again = await acquire(other, 'failing', 'fc-1');
      expect(again.lock.holders.map((h) => [h.hostName, h.fencingToken])).toEqual([['fc-1', 3]]);
      expect(other.fastAnswers).toBeGreaterThan(fastBefore + 1);
    } finally {
      await other.close();
    }
  });

  it('a job that fails before it in the same batch: the request is answered by the general path', async () => {
    expect(await acquire(store, 'failed-before', 'fb-1')).toMatchObject({ ok: true });
    expect(await release(store, 'failed-before', 'fb-1')).toMatchObject({ ok: true });
    const fastBefore = store.fastAnswers;
    const [failed, acquired] = await Promise.allSettled([
      store.lockOpWrite(async () => {
        throw new Error('this job fails');
      }),
      acquire(store, 'failed-before', 'fb-1'),
    ]);
    expect(failed.status).toBe('rejected');
    expect(acquired).toMatchObject({ status: 'fulfilled', value: { ok: true, outcome: 'acquired' } });
    // the failed job dropped the cache: the fast path handed the request on
    expect(store.fastAnswers).toBe(fastBefore);
    expect((await store.getLock('failed-before'))?.holders.map((h) => h.fencingToken)).toEqual([2]);
  });

  it("another connection's commit: the next request reads the database, not the writer's memory", async () => {
    const file = join(db.dataDir, 'shared.sqlite');
    const one = new CountingSqliteStore(file);
    const two = new CountingSqliteStore(file);
    try {
      await one.migrate();
      await one.heartbeat(600_000);
      await two.heartbeat(600_000);
      // both know the lock and their host, and take the fast path while the other is quiet
      for (const [s, name] of [
        [one, 'sh-1'],
        [two, 'sh-2'],
      ] as const) {
        expect(await acquire(s, 'shared', name)).toMatchObject({ ok: true });
        expect(await release(s, 'shared', name)).toMatchObject({ ok: true });
        const fastBefore = s.fastAnswers;
        expect(await acquire(s, 'shared', name)).toMatchObject({ ok: true });
        expect(await release(s, 'shared', name)).toMatchObject({ ok: true });
        expect(s.fastAnswers).toBe(fastBefore + 2);
      }
      // `two` last saw the lock free; `one` takes it: `two` must see it held
      expect(await acquire(one, 'shared', 'sh-1')).toMatchObject({ ok: true, lock: { fencingCounter: 5 } });
      expect(await acquire(two, 'shared', 'sh-2')).toMatchObject({ ok: false, reason: 'held' });
      expect(await release(one, 'shared', 'sh-1')).toMatchObject({ ok: true });
      const taken = await acquire(two, 'shared', 'sh-2');
      expect(taken.lock.holders.map((h) => [h.hostName, h.fencingToken])).toEqual([['sh-2', 6]]);
      expect(await acquire(one, 'shared', 'sh-1')).toMatchObject({ ok: false, reason: 'held' });
    } finally {
      await one.close();
      await two.close();
    }
  });
});
