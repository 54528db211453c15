// /api/hosts: the hosts that take locks — last check-in, the locks each holds, stale — with
// the lock index's search and paging; operators bar a host from acquiring
// (`can_acquire_locks`), admins add hosts (needed when hosts.autoRegister is off) and delete them.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { Access } from '../identity/access.js';
import { deleteHost, hostNotFound } from '../service/host-delete.js';
import { auditActor } from '../identity/requester.js';
import { formatNullableTimestamp, formatTimestamp } from '../lock/time.js';
import { parseSearch } from '../search/parse.js';
import type { HostDetail, HostOrderField, Store } from '../store/store.js';
import { pageOf, wrap } from './paging.js';
import { indexSchema } from './render.js';
import { zodBody } from './zod-body.js';

const access = (a: Access) => ({ access: a });
const ORDER_FIELDS: readonly HostOrderField[] = ['name', 'last_checkin_at', 'created_at', 'id'];
const SEARCH_FIELDS = 'name, locked, stale, enabled (= can_acquire_locks)';

const hostName = z
  .string()
  .trim()
  .min(1, "can't be blank")
  .max(255, 'is too long (maximum is 255 characters)')
  .refine(
    (n) => ![...n].some((c) => c === '/' || c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127),
    'may not contain "/" or control characters',
  );
const createBody = z.object({ name: hostName, can_acquire_locks: z.boolean().default(true) }).strict();
const updateBody = z.object({ can_acquire_locks: z.boolean() }).strict();

export const hostSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    can_acquire_locks: { type: 'boolean' },
    created_at: { type: 'string' },
    last_checkin_at: { type: ['string', 'null'] },
    locks_held: { type: 'integer' },
    stale: { type: 'boolean', description: 'holds a lock longer than locks.staleAfterSeconds' },
    locks: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          name: { type: 'string' },
          acquired_at: { type: 'string' },
          stale: { type: 'boolean' },
        },
      },
    },
  },
} as const;

export function renderHost(h: HostDetail, now: number, staleAfterMs: number) {
  const locks = h.locks.map((l) => ({
    id: l.id,
    name: l.name,
    acquired_at: formatTimestamp(l.acquiredAt),
    stale: now - l.refreshedAt > staleAfterMs,
  }));
  return {
    id: h.id,
    name: h.name,
    can_acquire_locks: h.canAcquireLocks,
    created_at: formatTimestamp(h.createdAt),
    last_checkin_at: formatNullableTimestamp(h.lastCheckinAt),
    locks_held: locks.length,
    stale: locks.some((l) => l.stale),
    locks,
  };
}

/** The lock search language, with its unknown-field message naming the hosts' fields. */
function parseHostSearch(search: string | undefined) {
  try {
    return parseSearch(search);
  } catch (err) {
    if (err instanceof AppError && /unknown field/.test(err.message)) {
      throw new AppError(
        'invalid_search',
        err.message.replace(/; use one of .*$/, `; use one of ${SEARCH_FIELDS}`),
      );
    }
    throw err;
  }
}

function parseOrder(raw: unknown): { by: HostOrderField; desc: boolean; given: boolean } {
  if (raw === undefined || raw === '') return { by: 'name', desc: false, given: false };
  const m = typeof raw === 'string' ? /^\s*([a-z_]+)(?:\s+(asc|desc))?\s*$/i.exec(raw) : null;
  const by = m?.[1]?.toLowerCase() as HostOrderField | undefined;
  if (!by || !ORDER_FIELDS.includes(by)) {
    throw new AppError(
      'invalid_search',
      `Invalid order '${String(raw).slice(0, 60)}': use one of ${ORDER_FIELDS.join(', ')}, optionally followed by ASC or DESC`,
    );
  }
  return { by, desc: m![2]?.toUpperCase() === 'DESC', given: true };
}

type RefRequest = FastifyRequest<{ Params: { name: string } }>;

export async function hostRoutes(
  app: FastifyInstance,
  opts: { store: Store; staleAfterMs: number },
): Promise<void> {
  const { store, staleAfterMs } = opts;
  const directory = store.hostDirectory;
  const create = zodBody(createBody, 'host');
  const update = zodBody(updateBody, 'host');

  app.get(
    '/hosts',
    {
      config: access({ kind: 'user', role: 'viewer' }),
      schema: {
        tags: ['hosts'],
        querystring: {
          type: 'object',
          properties: { search: { type: 'string' }, order: { type: 'string' }, page: {}, per_page: {} },
        },
        response: { 200: indexSchema(hostSchema) },
      },
    },
    async (request) => {
      const query = request.query as Record<string, unknown>;
      if (query.search !== undefined && typeof query.search !== 'string') {
        throw new AppError('invalid_search', "Invalid search query: 'search' must be given once");
      }
      const page = pageOf(query);
      const order = parseOrder(query.order);
      const search = typeof query.search === 'string' && query.search.trim() !== '' ? query.search : null;
      const { total, subtotal, hosts, now } = await directory.list({
        filter: parseHostSearch(search ?? undefined),
        order,
        limit: page.limit,
        offset: page.offset,
        staleAfterMs,
      });
      return wrap(
        page,
        { total, subtotal },
        hosts.map((h) => renderHost(h, now, staleAfterMs)),
        {
          search,
          sort: order.given
            ? { by: order.by, order: order.desc ? 'DESC' : 'ASC' }
            : { by: null, order: null },
        },
      );
    },
  );

  app.post(
    '/hosts',
    {
      config: access({ kind: 'user', role: 'admin' }),
      schema: { tags: ['hosts'], body: create.body, response: { 201: hostSchema } },
      validatorCompiler: create.validatorCompiler,
    },
    async (request, reply) => {
      const body = request.body as z.output<typeof createBody>;
      const host = await directory.create(body.name, body.can_acquire_locks, auditActor(request.who));
      return reply.code(201).send(renderHost(host, Date.now(), staleAfterMs));
    },
  );

  app.get(
    '/hosts/:name',
    {
      config: access({ kind: 'user', role: 'viewer' }),
      schema: { tags: ['hosts'], response: { 200: hostSchema } },
    },
    async (request: RefRequest) => {
      const found = await directory.get(request.params.name);
      if (!found) throw hostNotFound(request.params.name);
      return renderHost(found.host, found.now, staleAfterMs);
    },
  );

  app.put(
    '/hosts/:name',
    {
      config: access({ kind: 'user', role: 'operator' }),
      schema: { tags: ['hosts'], body: update.body, response: { 200: hostSchema } },
      validatorCompiler: update.validatorCompiler,
    },
    async (request: RefRequest) => {
      const body = request.body as z.output<typeof updateBody>;
      const host = await directory.setCanAcquire(
        request.params.name,
        body.can_acquire_locks,
        auditActor(request.who),
      );
      if (!host) throw hostNotFound(request.params.name);
      return renderHost(host, Date.now(), staleAfterMs);
    },
  );

  app.delete(
    '/hosts/:name',
    {
      config: access({ kind: 'user', role: 'admin' }),
      schema: { tags: ['hosts'], response: { 200: hostSchema } },
    },
    async (request: RefRequest) =>
      renderHost(
        await deleteHost(store, request.params.name, auditActor(request.who)),
        Date.now(),
        staleAfterMs,
      ),
  );
}
