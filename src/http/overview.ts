// GET /api/overview: the counts the web UI's overview shows (each one a filter of the locks
// list) and acquisitions and refusals per hour over the last days, for its small chart.
import type { FastifyInstance } from 'fastify';
import { validationError } from '../errors.js';
import type { Access } from '../identity/access.js';
import { formatTimestamp } from '../lock/time.js';
import { eventWithLockSchema, indexSchema, renderEventWithLock } from './render.js';
import type { Store } from '../store/store.js';

const VIEWER = { access: { kind: 'user', role: 'viewer' } satisfies Access };
const DAY_MS = 86_400_000;
export const MAX_ACTIVITY_DAYS = 14;
const HOST_EVENTS = 1000;

const count = { type: 'integer' } as const;

export async function overviewRoutes(
  app: FastifyInstance,
  opts: { store: Store; staleAfterMs: number },
): Promise<void> {
  app.get(
    '/overview',
    {
      config: VIEWER,
      schema: {
        tags: ['overview'],
        querystring: {
          type: 'object',
          properties: {
            days: { type: 'string', description: `hours of activity: 1 to ${MAX_ACTIVITY_DAYS} days` },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              locks: count,
              held: count,
              stale: count,
              waiting: count,
              disabled: count,
              outside_window: {
                type: 'integer',
                description: 'locks whose windows are all closed now (search: window = closed)',
              },
              gate_failing: {
                type: 'integer',
                description: 'locks with a health gate whose last check failed (search: gate = failing)',
              },
              hosts: count,
              hosts_checked_in_24h: count,
              now: { type: 'string' },
              activity: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { hour: { type: 'string' }, acquisitions: count, refusals: count },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const raw = (request.query as Record<string, unknown>).days;
      let days = 3;
      if (raw !== undefined && raw !== '') {
        if (typeof raw !== 'string' || !/^\d{1,2}$/.test(raw) || +raw < 1 || +raw > MAX_ACTIVITY_DAYS)
          throw validationError({ days: [`must be a whole number from 1 to ${MAX_ACTIVITY_DAYS}`] });
        days = Number(raw);
      }
      const counts = await opts.store.overview.counts(opts.staleAfterMs, DAY_MS);
      const activity = await opts.store.overview.activity(days * 24);
      return {
        locks: counts.locks,
        held: counts.held,
        stale: counts.stale,
        waiting: counts.waiting,
        disabled: counts.disabled,
        outside_window: counts.outsideWindow,
        gate_failing: counts.gateFailing,
        hosts: counts.hosts,
        hosts_checked_in_24h: counts.hostsCheckedIn,
        now: formatTimestamp(counts.now),
        activity: activity.map((a) => ({ ...a, hour: formatTimestamp(a.hour) })),
      };
    },
  );

  // GET /api/hosts/:name/events: the host page's history (the newest 1000 events of the host)
  app.get(
    '/hosts/:name/events',
    {
      config: VIEWER,
      schema: {
        tags: ['hosts'],
        response: {
          200: indexSchema(eventWithLockSchema),
        },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const { total, events } = await opts.store.overview.hostEvents(name, HOST_EVENTS);
      return {
        total,
        subtotal: total,
        page: 1,
        per_page: HOST_EVENTS,
        search: null,
        sort: { by: 'created_at', order: 'DESC' },
        results: events.map(renderEventWithLock),
      };
    },
  );
}
