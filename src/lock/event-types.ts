// Every lock event type at run time, for filtering a lock's events by type. A type added to
// EventType but not listed here fails the typecheck (the assertion below), so the filter
// never refuses a type the server writes.
import type { EventType } from './types.js';

export const EVENT_TYPES = [
  'acquire',
  'release',
  'enable',
  'disable',
  'fail',
  'create',
  'delete',
  'expire',
  'force_release',
  'update',
  'stale',
  'gate',
] as const satisfies readonly EventType[];

type Unlisted = Exclude<EventType, (typeof EVENT_TYPES)[number]>;
// `true` only type-checks while no EventType is missing from EVENT_TYPES
const everyTypeListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyTypeListed;

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}
