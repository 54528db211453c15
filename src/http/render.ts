// Lock JSON exactly as foreman_dlm renders it, plus keyholder's extension keys, and the
// response schemas that keep serialisation on fastify's compiled (fast-json-stringify) path.
import type { LockJson } from 'keyholder-protocol';
import { isStale } from '../lock/rules.js';
import { formatNullableTimestamp, formatTimestamp } from '../lock/time.js';
import type { LockState } from '../lock/types.js';
import { nextWindowOpening } from '../lock/windows.js';
import type { EventRow } from '../store/store.js';

export interface RenderContext {
  /** set when a host asks: `host.self` tells it whether it is the holder */
  hostName?: string;
  now: number;
  staleAfterMs: number;
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
    lease_seconds: lock.leaseSeconds,
    // the asking host's own token when it holds the lock, else the earliest holder's
    fencing_token: (mine ?? first)?.fencingToken ?? null,
    // the lock's own counter: the last token handed out, whoever holds it now (UI, audits)
    fencing_counter: lock.fencingCounter,
    stale: isStale(lock, ctx.now, ctx.staleAfterMs),
    windows: lock.windows,
    // when the next maintenance window opens (null: no windows, or none within eight days)
    next_window_at:
      lock.windows.length === 0
        ? null
        : formatNullableTimestamp(nextWindowOpening(lock.windows, ctx.now) ?? null),
    holders: lock.holders.map((h) => ({
      name: h.hostName,
      acquired_at: formatTimestamp(h.acquiredAt),
      fencing_token: h.fencingToken,
      expires_at: formatNullableTimestamp(h.expiresAt),
      // nested locks: the child this slot was taken through (absent: acquired directly)
      ...(h.viaLockName ? { via: h.viaLockName } : {}),
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
    next_window_at: nullableString,
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
    max_holders: { type: 'integer', minimum: 1 },
    lease_seconds: { type: ['integer', 'null'], minimum: 1 },
    windows: { type: ['array', 'null'], items: windowSchema },
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
