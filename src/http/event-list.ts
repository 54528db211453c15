// GET /api/events: every lock's events as one stream, for `keyholder events tail` without a
// lock. A reader starts with the newest events and then asks for those after the last id it
// saw (`after_id`), oldest first, so nothing is shown twice or skipped.
import type { FastifyInstance } from 'fastify';
import { validationError } from '../errors.js';
import type { Access } from '../identity/access.js';
import type { Store } from '../store/store.js';
import { EVENT_SETTLE_MS } from '../store/webhook-feed.js';
import { parsePaging } from './query.js';
import { eventWithLockSchema, renderEventWithLock } from './render.js';

const VIEWER = { access: { kind: 'user', role: 'viewer' } satisfies Access };

function parseAfterId(raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) {
    throw validationError({ after_id: ['must be a whole number from 0 (an event id)'] });
  }
  return Number(raw);
}

export async function eventListRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  const feed = opts.store.webhookFeed;
  app.get(
    '/events',
    {
      config: VIEWER,
      schema: {
        tags: ['events'],
        querystring: {
          type: 'object',
          properties: {
            after_id: { description: 'only events after this id, oldest first; without it the newest' },
            per_page: {},
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              per_page: { type: 'integer' },
              last_id: { type: 'integer', description: 'the after_id to ask with next' },
              results: { type: 'array', items: eventWithLockSchema },
            },
          },
        },
      },
    },
    async (request) => {
      const query = request.query as Record<string, unknown>;
      const afterId = parseAfterId(query.after_id);
      const { perPage } = parsePaging({ per_page: query.per_page });
      const events =
        afterId === undefined
          ? await feed.latestEvents(EVENT_SETTLE_MS, perPage)
          : (await feed.eventsAfter(afterId, EVENT_SETTLE_MS, perPage)).events;
      return {
        per_page: perPage,
        last_id: events.at(-1)?.id ?? afterId ?? 0,
        results: events.map(renderEventWithLock),
      };
    },
  );
}
