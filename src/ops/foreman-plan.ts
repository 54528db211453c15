// Pure: what a foreman_dlm database becomes in keyholder. Each dlmlock becomes a lock with one
// holder at most (foreman_dlm's model), keeping its name, type, enabled flag and times; a lock
// held mid-rollout stays held by the same host name, so that host's release (and its next
// acquire, a refresh) answer as they did on Foreman. Events keep their type, host and user
// names and times. What cannot be carried over is reported, never guessed.
import { lockNameProblems, normalizeLockType } from '../lock/validate.js';
import { DEFAULT_LOCK_TYPE, type EventType } from '../lock/types.js';
import type { ImportedEvent, ImportedHost, ImportedLock, LockImport } from '../store/lock-import.js';
import type { ForemanEvent, ForemanLock, ForemanSnapshot } from './foreman-source.js';

/** foreman_dlm's DlmlockEvent::TYPES; keyholder records the same five. */
const FOREMAN_EVENT_TYPES: ReadonlySet<string> = new Set(['release', 'acquire', 'enable', 'disable', 'fail']);

export interface ImportSummary {
  locks: number;
  enabled: number;
  disabled: number;
  held: { lock: string; host: string; since: number }[];
  events: number;
  hosts: number;
  /** host ids that locks or events refer to but `hosts` does not have (deleted in Foreman) */
  unknownHostIds: number[];
  /** events left out: their lock is gone, or their type is not one of foreman_dlm's */
  skippedEvents: number;
  /** reasons the import must not go ahead (names keyholder cannot take, unknown lock types) */
  problems: string[];
}

export interface ImportPlan {
  data: LockImport;
  summary: ImportSummary;
}

function lockProblems(lock: ForemanLock): string[] {
  const problems = lockNameProblems(lock.name).map((p) => `lock ${JSON.stringify(lock.name)}: name ${p}`);
  const errors: Record<string, string[]> = {};
  normalizeLockType(lock.type ?? DEFAULT_LOCK_TYPE, errors);
  if (errors.type)
    problems.push(`lock ${JSON.stringify(lock.name)}: type ${lock.type} ${errors.type.join(', ')}`);
  return problems;
}

/** lock id + host id → the last acquire event's time: when a holder took its lock */
function lastAcquires(events: ForemanEvent[]): Map<string, number> {
  const at = new Map<string, number>();
  for (const e of events) if (e.eventType === 'acquire') at.set(`${e.lockId}:${e.hostId}`, e.createdAt);
  return at;
}

export function planForemanImport(source: ForemanSnapshot): ImportPlan {
  const unknownHostIds = new Set<number>();
  const hostName = (id: number | null): string | null => {
    if (id === null) return null;
    const name = source.hosts.get(id);
    if (name === undefined) unknownHostIds.add(id);
    return name ?? null;
  };
  const problems = source.locks.flatMap(lockProblems);
  const hosts = new Map<string, ImportedHost>();
  const useHost = (name: string, firstSeen: number, id: number) => {
    const known = hosts.get(name);
    if (known) known.createdAt = Math.min(known.createdAt, firstSeen);
    else hosts.set(name, { name, createdAt: firstSeen, lastCheckinAt: source.checkins.get(id) ?? null });
  };

  const acquires = lastAcquires(source.events);
  const locks: ImportedLock[] = source.locks.map((lock) => {
    const holderName = hostName(lock.hostId);
    // a holder's refresh (re-acquire) moves updated_at but writes no event
    const since = Math.min(acquires.get(`${lock.id}:${lock.hostId}`) ?? lock.updatedAt, lock.updatedAt);
    const holder =
      holderName === null ? null : { hostName: holderName, acquiredAt: since, refreshedAt: lock.updatedAt };
    if (holder) useHost(holder.hostName, holder.acquiredAt, lock.hostId!);
    const errors: Record<string, string[]> = {};
    return {
      name: lock.name,
      type: normalizeLockType(lock.type ?? DEFAULT_LOCK_TYPE, errors),
      enabled: lock.enabled,
      createdAt: lock.createdAt,
      updatedAt: lock.updatedAt,
      holder,
    };
  });

  const lockNames = new Map(source.locks.map((l) => [l.id, l.name]));
  let skippedEvents = 0;
  const events: ImportedEvent[] = [];
  for (const e of source.events) {
    const lockName = lockNames.get(e.lockId);
    if (lockName === undefined || e.eventType === null || !FOREMAN_EVENT_TYPES.has(e.eventType)) {
      skippedEvents++;
      continue;
    }
    const name = hostName(e.hostId);
    if (name !== null) useHost(name, e.createdAt, e.hostId!);
    events.push({
      lockName,
      type: e.eventType as EventType,
      hostName: name,
      userLogin: e.userId === null ? null : (source.users.get(e.userId) ?? null),
      detail: null,
      createdAt: e.createdAt,
    });
  }

  const held = locks
    .filter((l) => l.holder)
    .map((l) => ({ lock: l.name, host: l.holder!.hostName, since: l.holder!.acquiredAt }));
  return {
    data: { hosts: [...hosts.values()], locks, events },
    summary: {
      locks: locks.length,
      enabled: locks.filter((l) => l.enabled).length,
      disabled: locks.filter((l) => !l.enabled).length,
      held,
      events: events.length,
      hosts: hosts.size,
      unknownHostIds: [...unknownHostIds].sort((a, b) => a - b),
      skippedEvents,
      problems,
    },
  };
}

const utc = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');

/** The dry-run (and pre-import) report, one fact a line. */
export function describeSummary(s: ImportSummary): string {
  const lines = [
    `${s.locks} locks (${s.enabled} enabled, ${s.disabled} disabled), ${s.held.length} held`,
    `${s.events} events${s.skippedEvents ? ` (${s.skippedEvents} left out: lock gone or unknown type)` : ''}`,
    `${s.hosts} host names (created in keyholder where missing)`,
  ];
  for (const h of s.held) lines.push(`  held: ${h.lock} by ${h.host} since ${utc(h.since)}`);
  if (s.unknownHostIds.length) {
    lines.push(
      `unknown host ids (not in Foreman's hosts; their locks are imported free, their events without a host): ${s.unknownHostIds.join(', ')}`,
    );
  }
  for (const p of s.problems) lines.push(`problem: ${p}`);
  return `${lines.join('\n')}\n`;
}
