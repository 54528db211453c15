// /api/audit: the admin's record of who logged in (or failed to), issued or revoked tokens,
// created, deleted or re-roled users, and added, barred or deleted hosts. Newest first.
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import type { Access } from '../identity/access.js';
import { formatTimestamp } from '../lock/time.js';
import type { AuditRow, Store } from '../store/store.js';
import { pageOf, wrap } from './paging.js';
import { indexSchema } from './render.js';

const ADMIN = { access: { kind: 'user', role: 'admin' } satisfies Access };
const FILTERS = ['event_type', 'actor', 'target'] as const;

export const auditSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    event_type: { type: 'string' },
    actor: { type: ['object', 'null'], properties: { login: { type: 'string' } } },
    target: { type: ['string', 'null'] },
    detail: { type: ['string', 'null'] },
    address: { type: ['string', 'null'] },
    created_at: { type: 'string' },
  },
} as const;

export function renderAudit(e: AuditRow) {
  return {
    id: e.id,
    event_type: e.type,
    actor: e.actorLogin === null ? null : { login: e.actorLogin },
    target: e.target,
    detail: e.detail,
    address: e.address,
    created_at: formatTimestamp(e.createdAt),
  };
}

export async function auditRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  app.get(
    '/audit',
    {
      config: ADMIN,
      schema: {
        tags: ['audit'],
        querystring: {
          type: 'object',
          properties: {
            event_type: {
              type: 'string',
              description: 'e.g. login, login_failed, token_create, role_change',
            },
            actor: { type: 'string', description: 'login of the user who acted' },
            target: { type: 'string', description: 'the user or host acted upon' },
            page: {},
            per_page: {},
          },
        },
        response: { 200: indexSchema(auditSchema) },
      },
    },
    async (request) => {
      const query = request.query as Record<string, unknown>;
      const filter: { type?: string; actor?: string; target?: string } = {};
      for (const key of FILTERS) {
        const value = query[key];
        if (value === undefined || value === '') continue;
        if (typeof value !== 'string')
          throw new AppError('invalid_search', `Invalid search query: '${key}' must be given once`);
        filter[key === 'event_type' ? 'type' : key] = value;
      }
      const page = pageOf(query);
      const { total, subtotal, events } = await opts.store.audit.list(filter, page.limit, page.offset);
      const search = Object.entries(filter)
        .map(([k, v]) => `${k === 'type' ? 'event_type' : k} = ${v}`)
        .join(' and ');
      return wrap(page, { total, subtotal }, events.map(renderAudit), {
        search: search || null,
        sort: { by: 'created_at', order: 'DESC' },
      });
    },
  );
}
