// `?type=` and `?host=` of a lock's events: `type` is one event type or several joined by
// commas (`acquire,fail`), `host` the exact name of the host in the event. Anything else is a
// 422 naming the field and what it accepts.
import { validationError } from '../errors.js';
import { EVENT_TYPES, isEventType } from '../lock/event-types.js';
import type { EventType } from '../lock/types.js';
import type { EventFilter } from '../store/store.js';

const MAX_HOST_LENGTH = 255;

export const eventFilterQuerySchema = {
  type: {
    type: 'string',
    description: `only these event types, comma-separated: ${EVENT_TYPES.join(', ')}`,
  },
  host: { type: 'string', description: 'only events naming this host (exact name)' },
} as const;

function once(value: unknown, field: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw validationError({ [field]: ['must be given once'] });
  return value;
}

export function parseEventFilter(query: Record<string, unknown>): EventFilter {
  const filter: EventFilter = {};
  const type = once(query.type, 'type');
  if (type !== undefined) {
    const types = type.split(',').map((t) => t.trim());
    const unknown = types.filter((t) => !isEventType(t));
    if (unknown.length) {
      throw validationError({
        type: [
          `has unknown event types (${unknown.join(', ').slice(0, 100)}); use ${EVENT_TYPES.join(', ')}`,
        ],
      });
    }
    filter.types = [...new Set(types as EventType[])];
  }
  const host = once(query.host, 'host');
  if (host !== undefined) {
    if (host.length > MAX_HOST_LENGTH || /[\s\p{Cc}]/u.test(host)) {
      throw validationError({ host: [`must be a host name of at most ${MAX_HOST_LENGTH} characters`] });
    }
    filter.host = host;
  }
  return filter;
}
