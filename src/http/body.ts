// The lock attributes of a create/update body: `{"dlmlock":{…}}` or, as foreman's
// wrap_parameters allows, the same keys without the wrapper. Unknown keys and wrong types
// are 422s naming the field; nothing is half-applied.
import { validationError, type FieldErrors } from '../errors.js';
import type { LockAttributes } from '../service/locks.js';
import {
  MAX_HOLDERS_LIMIT,
  MAX_LEASE_SECONDS,
  lockNameProblems,
  normalizeLockType,
} from '../lock/validate.js';
import { MAX_PAUSE_REASON_LENGTH, parseBlackouts, parseInstant } from '../lock/calendar.js';
import { parseWindows } from '../lock/windows.js';
import { parseGates } from '../lock/gates.js';
import { MAX_MEMBERS_DAYS, parsePercent } from '../lock/members.js';

const KNOWN = [
  'name',
  'type',
  'enabled',
  'host_id',
  'max_holders',
  'lease_seconds',
  'windows',
  'blackouts',
  'paused_until',
  'pause_reason',
  'gates',
  'members_days',
  'parent',
];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function intIn(
  raw: unknown,
  min: number,
  max: number,
  field: string,
  errors: FieldErrors,
  nullable: boolean,
): number | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === null && nullable) return null;
  if (typeof raw !== 'number' || !Number.isInteger(raw)) {
    errors[field] = [`must be an integer${nullable ? ' or null' : ''}`];
    return undefined;
  }
  if (raw < min || raw > max) {
    errors[field] = [`must be between ${min} and ${max}`];
    return undefined;
  }
  return raw;
}

export function parseLockAttributes(body: unknown): LockAttributes {
  if (!isObject(body)) throw validationError({ base: ['the request body must be a JSON object'] });
  const attrs = isObject(body.dlmlock) ? body.dlmlock : body.dlmlock === undefined ? body : undefined;
  if (!attrs) throw validationError({ dlmlock: ['must be an object'] });

  const errors: FieldErrors = {};
  for (const key of Object.keys(attrs)) {
    if (!KNOWN.includes(key) && !(attrs === body && key === 'dlmlock'))
      errors[key] = ['is not a known attribute'];
  }
  const out: LockAttributes = {};
  if (attrs.name !== undefined) {
    if (typeof attrs.name !== 'string') errors.name = ['must be a string'];
    else {
      const problems = lockNameProblems(attrs.name);
      if (problems.length) errors.name = problems;
      out.name = attrs.name;
    }
  }
  if (attrs.type !== undefined) {
    if (typeof attrs.type !== 'string') errors.type = ['must be a string'];
    else out.type = normalizeLockType(attrs.type, errors);
  }
  if (attrs.enabled !== undefined) {
    if (typeof attrs.enabled !== 'boolean') errors.enabled = ['must be true or false'];
    else out.enabled = attrs.enabled;
  }
  const hostId = intIn(attrs.host_id, 1, Number.MAX_SAFE_INTEGER, 'host_id', errors, true);
  if (hostId !== undefined) out.hostId = hostId;
  if (typeof attrs.max_holders === 'string') {
    // "10%": a share of the lock's members (src/lock/members.ts)
    const percent = parsePercent(attrs.max_holders);
    if (percent === undefined)
      errors.max_holders = ['must be an integer or a percentage from "1%" to "100%"'];
    else out.maxHoldersPercent = percent;
  } else {
    const maxHolders = intIn(attrs.max_holders, 1, MAX_HOLDERS_LIMIT, 'max_holders', errors, false);
    if (typeof maxHolders === 'number') out.maxHolders = maxHolders;
  }
  const membersDays = intIn(attrs.members_days, 1, MAX_MEMBERS_DAYS, 'members_days', errors, false);
  if (typeof membersDays === 'number') out.membersDays = membersDays;
  const lease = intIn(attrs.lease_seconds, 1, MAX_LEASE_SECONDS, 'lease_seconds', errors, true);
  if (lease !== undefined) out.leaseSeconds = lease;
  if (attrs.windows !== undefined) {
    const { windows, problems } = parseWindows(attrs.windows);
    if (problems.length) errors.windows = problems;
    else out.windows = windows;
  }
  if (attrs.blackouts !== undefined) {
    const { blackouts, problems } = parseBlackouts(attrs.blackouts);
    if (problems.length) errors.blackouts = problems;
    else out.blackouts = blackouts;
  }
  parsePause(attrs, out, errors);
  if (attrs.gates !== undefined) {
    const { gates, problems } = parseGates(attrs.gates);
    if (problems.length) errors.gates = problems;
    else out.gates = gates;
  }
  if (attrs.parent !== undefined) {
    // nested locks: another lock's name (or id); null detaches (src/lock/nested.ts)
    if (attrs.parent !== null && (typeof attrs.parent !== 'string' || attrs.parent === '')) {
      errors.parent = ["must be another lock's name or null"];
    } else out.parent = attrs.parent;
  }
  if (Object.keys(errors).length > 0) throw validationError(errors);
  return out;
}

/** `paused_until` (a timestamp or null) and `pause_reason` (a short text or null). */
function parsePause(attrs: Record<string, unknown>, out: LockAttributes, errors: FieldErrors): void {
  const until = attrs.paused_until;
  if (until === null) out.pausedUntil = null;
  else if (until !== undefined) {
    const at = typeof until === 'string' ? parseInstant(until) : undefined;
    if (at === undefined)
      errors.paused_until = [
        'must be a timestamp such as 2026-12-24T18:00:00Z (UTC without an offset) or null',
      ];
    else out.pausedUntil = at;
  }
  const reason = attrs.pause_reason;
  if (reason === null) out.pauseReason = null;
  else if (reason !== undefined) {
    if (typeof reason !== 'string' || reason.length > MAX_PAUSE_REASON_LENGTH)
      errors.pause_reason = [`must be a text of at most ${MAX_PAUSE_REASON_LENGTH} characters, or null`];
    else out.pauseReason = reason;
  }
}
