// Lock JSON exactly as foreman_dlm renders it, plus keyholder's extension keys, and the
// response schemas that keep serialisation on fastify's compiled (fast-json-stringify) path.
import type { LockJson } from 'keyholder-protocol';
import type { GateStatus } from '../gates/runner.js';
import { DEFAULT_MEMBERS_DAYS, maxHoldersRule } from '../lock/members.js';
import { isStale } from '../lock/rules.js';
import { formatNullableTimestamp, formatTimestamp } from '../lock/time.js';
import type { LockState } from '../lock/types.js';
import { nextWindowAt, type Pause } from '../lock/calendar.js';
import type { EventRow } from '../store/store.js';

export interface RenderContext {
  /** set when a host asks: `host.self` tells it whether it is the holder */
  hostName?: string;
  now: number;
  staleAfterMs: number;
  /** the global pause, for next_window_at (omitted: the lock's own calendar only) */
  globalPause?: Pause | null;
  /** the last known results of the lock's health gates (absent: none known) */
  gateStatus?: (lock: LockState) => GateStatus[];
}

/** The lock JSON both sides know (keyholder-protocol's LockJson). */
export function renderLock(lock: LockState, ctx: RenderContext): LockJson {
  const first = lock.holders[0];
  const mine = ctx.hostName === undefined ? undefined : lock.holders.find((h) => h.hostName === ctx.hostName);
  return {
    id: lock.id,
    host_id: first ? first.hostId : null,
    name: lock.name,
    enabled: lock.enabled,
    type: lock.type,
    created_at: formatTimestamp(lock.createdAt),
    updated_at: formatTimestamp(lock.updatedAt),
    host: first
      ? ctx.hostName === undefined
        ? { name: first.hostName }
        : { name: first.hostName, self: first.hostName === ctx.hostName }
      : null,
    max_holders: lock.maxHolders,
    // the limit as given ("10%" or the number) beside the number it makes now
    max_holders_rule: maxHoldersRule({
      maxHolders: lock.maxHolders,
      maxHoldersPercent: lock.maxHoldersPercent ?? null,
    }),
    members_count: lock.membersCount ?? null,
    members_days: lock.membersDays ?? DEFAULT_MEMBERS_DAYS,
    lease_seconds: lock.leaseSeconds,
    // the asking host's own token when it holds the lock, else the earliest holder's
    fencing_token: (mine ?? first)?.fencingToken ?? null,
    // the lock's own counter: the last token handed out, whoever holds it now (UI, audits)
    fencing_counter: lock.fencingCounter,
    stale: isStale(lock, ctx.now, ctx.staleAfterMs),
    windows: lock.windows,
    blackouts: lock.blackouts,
    paused_until: formatNullableTimestamp(lock.pausedUntil),
    pause_reason: lock.pauseReason,
    // refused now (pause, blackout, window): when that ends; else the next window opening
    next_window_at: formatNullableTimestamp(nextWindowAt(lock, ctx.globalPause ?? null, ctx.now) ?? null),
    holders: lock.holders.map((h) => ({
      name: h.hostName,
      acquired_at: formatTimestamp(h.acquiredAt),
      fencing_token: h.fencingToken,
      expires_at: formatNullableTimestamp(h.expiresAt),
      // nested locks: the child this slot was taken through (absent: acquired directly)
      ...(h.viaLockName ? { via: h.viaLockName } : {}),
    })),
    // definitions as given (credentials by name only) and what their last checks said
    gates: lock.gates ?? [],
    gate_status: (ctx.gateStatus?.(lock) ?? []).map((g) => ({
      name: g.name,
      ok: g.ok,
      detail: g.detail,
      checked_at: formatTimestamp(g.checkedAt),
    })),
    parent: lock.parent ?? null,
    children: lock.children ?? [],
  };
}

export function renderEvent(e: EventRow) {
  return {
    id: e.id,
    event_type: e.type,
    created_at: formatTimestamp(e.createdAt),
    updated_at: formatTimestamp(e.createdAt),
    host: e.hostName === null ? null : { name: e.hostName },
    user: e.userLogin === null ? null : { login: e.userLogin },
    detail: e.detail,
  };
}

/** An event read outside its lock's page (every lock's list, the live stream, a host's history): it names its lock. */
export function renderEventWithLock(e: EventRow) {
  return { ...renderEvent(e), lock: { id: e.lockId, name: e.lockName } };
}

const nullableString = { type: ['string', 'null'] } as const;

// a function declaration, so the lock schema above can use it (hoisted)
function blackoutSchemaOut() {
  return {
    type: 'object',
    properties: {
      from: { type: 'string', description: 'first day, YYYY-MM-DD (inclusive)' },
      to: { type: 'string', description: 'last day, YYYY-MM-DD (inclusive)' },
      time_zone: { type: 'string', description: 'IANA time zone of the days, e.g. Europe/Berlin' },
      reason: { type: 'string' },
    },
  } as const;
}

export const lockSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    host_id: { type: ['integer', 'null'] },
    name: { type: 'string' },
    enabled: { type: 'boolean' },
    type: { type: 'string' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    host: {
      type: ['object', 'null'],
      properties: { name: { type: 'string' }, self: { type: 'boolean' } },
    },
    max_holders: { type: 'integer' },
    max_holders_rule: { type: ['integer', 'string'] },
    members_count: { type: ['integer', 'null'] },
    members_days: { type: 'integer' },
    lease_seconds: { type: ['integer', 'null'] },
    fencing_token: { type: ['integer', 'null'] },
    fencing_counter: { type: 'integer' },
    stale: { type: 'boolean' },
    windows: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          days: { type: 'array', items: { type: 'string' } },
          nth_weekday: {
            type: 'object',
            properties: { nth: { type: 'integer' }, day: { type: 'string' } },
          },
          days_of_month: { type: 'array', items: { type: 'integer' } },
          start: { type: 'string' },
          duration_minutes: { type: 'integer' },
          time_zone: { type: 'string' },
        },
      },
    },
    blackouts: { type: 'array', items: blackoutSchemaOut() },
    paused_until: nullableString,
    pause_reason: nullableString,
    next_window_at: nullableString,
    gates: { type: 'array', items: { type: 'object', additionalProperties: true } },
    gate_status: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          ok: { type: 'boolean' },
          detail: { type: 'string' },
          checked_at: { type: 'string' },
        },
      },
    },
    holders: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          acquired_at: { type: 'string' },
          fencing_token: { type: 'integer' },
          expires_at: nullableString,
          via: nullableString,
        },
      },
    },
    parent: nullableString,
    children: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const eventSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    event_type: { type: 'string' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    host: { type: ['object', 'null'], properties: { name: { type: 'string' } } },
    user: { type: ['object', 'null'], properties: { login: { type: 'string' } } },
    detail: nullableString,
  },
} as const;

export const eventWithLockSchema = {
  ...eventSchema,
  properties: {
    ...eventSchema.properties,
    lock: { type: 'object', properties: { id: { type: ['integer', 'null'] }, name: { type: 'string' } } },
  },
} as const;

const windowSchema = {
  type: 'object',
  properties: {
    days: {
      type: 'array',
      items: { type: 'string', enum: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] },
    },
    nth_weekday: {
      type: 'object',
      description: 'instead of days: the nth (1-4, or -1 for the last) such weekday of each month',
      properties: { nth: { type: 'integer', enum: [1, 2, 3, 4, -1] }, day: { type: 'string' } },
    },
    days_of_month: {
      type: 'array',
      description: 'instead of days: these days of each month',
      items: { type: 'integer', minimum: 1, maximum: 31 },
    },
    start: { type: 'string', description: 'local time HH:MM' },
    duration_minutes: { type: 'integer', minimum: 1 },
    time_zone: { type: 'string', description: 'IANA time zone, e.g. Europe/Berlin' },
  },
} as const;

const lockAttributes = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'any characters but /, at most 255' },
    type: { type: 'string', description: 'ForemanDlm::Dlmlock::Update' },
    enabled: { type: 'boolean' },
    host_id: { type: ['integer', 'null'], description: 'update only: a host id sets the holder, null frees' },
    max_holders: {
      oneOf: [
        { type: 'integer', minimum: 1 },
        {
          type: 'string',
          pattern: '^[0-9]{1,3}%$',
          description: 'a percentage of the members, "1%" to "100%"',
        },
      ],
    },
    lease_seconds: { type: ['integer', 'null'], minimum: 1 },
    windows: { type: ['array', 'null'], items: windowSchema },
    members_days: {
      type: 'integer',
      minimum: 1,
      maximum: 3650,
      description: 'a host that took the lock stays a member this many days (default 30)',
    },
    blackouts: {
      type: ['array', 'null'],
      maxItems: 100,
      description: 'whole local days without new holders; null or [] removes them',
      items: blackoutSchemaOut(),
    },
    paused_until: {
      type: ['string', 'null'],
      description: 'no new holder before this time (ISO 8601, UTC without an offset); null lifts the pause',
    },
    pause_reason: { type: ['string', 'null'], maxLength: 200 },
    gates: {
      type: ['array', 'null'],
      description:
        'health gates checked before a new holder is admitted (replaces the list; [] removes them): ' +
        'prometheus {url, query, expect: "empty" | {op, value}}, alertmanager {url, matchers}, ' +
        'http {url, body_regex?}, checkins {min: N | "N%", within_seconds}; each with name, ' +
        'cache_seconds (default 10), timeout_seconds (default 5, max 30), credentials (a name from the config file)',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          type: { type: 'string', enum: ['prometheus', 'alertmanager', 'http', 'checkins'] },
          url: { type: 'string' },
          cache_seconds: { type: 'integer', minimum: 0, maximum: 3600 },
          timeout_seconds: { type: 'number', minimum: 0.1, maximum: 30 },
          credentials: { type: 'string' },
          query: { type: 'string' },
          expect: {},
          matchers: { type: 'array', items: { type: 'string' } },
          body_regex: { type: 'string' },
          min: {},
          within_seconds: { type: 'integer', minimum: 1 },
        },
      },
    },
    parent: {
      type: ['string', 'null'],
      description: 'nested locks: the parent lock (name or id); null detaches. Only while the lock is free',
    },
  },
} as const;

/**
 * The create/update body, for the OpenAPI document: `{"dlmlock":{…}}` or the same keys bare.
 * It is not used to validate (see `documentationOnly` in dlmlocks.ts).
 */
export const lockBodySchema = {
  type: 'object',
  properties: { dlmlock: lockAttributes, ...lockAttributes.properties },
} as const;

/** Foreman's index wrapper around a page of results. */
export function indexSchema(item: object) {
  return {
    type: 'object',
    properties: {
      total: { type: 'integer' },
      subtotal: { type: 'integer' },
      page: { type: 'integer' },
      per_page: { type: 'integer' },
      search: nullableString,
      sort: { type: 'object', properties: { by: nullableString, order: nullableString } },
      results: { type: 'array', items: item },
    },
  } as const;
}
