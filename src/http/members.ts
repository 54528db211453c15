// /api/dlmlocks/:id/members: a lock's members (src/lock/members.ts) — the hosts that took it
// within its members_days and those an operator added. Operators add and remove the latter;
// each change is audited in its own transaction. A percentage max_holders counts them.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { validationError } from '../errors.js';
import type { Access } from '../identity/access.js';
import { hostNotFound } from '../service/host-delete.js';
import { auditActor } from '../identity/requester.js';
import { formatNullableTimestamp } from '../lock/time.js';
import { lockNotFound } from '../service/locks.js';
import type { Member, MemberChange, Store } from '../store/store.js';
import { pageOf, wrap } from './paging.js';
import { indexSchema } from './render.js';

const access = (a: Access) => ({ access: a });
const nullableString = { type: ['string', 'null'] } as const;

export const memberSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    source: { type: 'string', enum: ['acquired', 'operator'] },
    last_acquired_at: nullableString,
    last_checkin_at: nullableString,
    added_by: nullableString,
    added_at: nullableString,
  },
} as const;

const removalSchema = {
  type: 'object',
  description: 'member: the host still counted (it acquired the lock within members_days), or null',
  properties: { name: { type: 'string' }, member: { ...memberSchema, type: ['object', 'null'] } },
} as const;

function renderMember(m: Member) {
  return {
    name: m.name,
    source: m.source,
    last_acquired_at: formatNullableTimestamp(m.lastAcquiredAt),
    last_checkin_at: formatNullableTimestamp(m.lastCheckinAt),
    added_by: m.addedBy,
    added_at: formatNullableTimestamp(m.addedAt),
  };
}

type MemberRequest = FastifyRequest<{ Params: { id: string; host: string } }>;

/** A change that did not happen becomes the catalogue's answer: 404 for the path's lock or host. */
function changed(change: MemberChange, ref: string, host: string) {
  if (change.ok) return change;
  if (change.missing === 'lock') throw lockNotFound(ref);
  if (change.missing === 'host') throw hostNotFound(host);
  // a typo must not look done: removing what an operator never added says so
  throw validationError({ host: [`'${host}' was not added to lock '${change.lockName}' by an operator`] });
}

export async function memberRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  const members = opts.store.lockMembers;

  app.get(
    '/dlmlocks/:id/members',
    {
      config: access({ kind: 'user', role: 'viewer' }),
      schema: { response: { 200: indexSchema(memberSchema) } },
    },
    async (request: FastifyRequest<{ Params: { id: string } }>) => {
      const page = pageOf(request.query);
      const found = await members.list(request.params.id, page.limit, page.offset);
      if (!found) throw lockNotFound(request.params.id);
      return wrap(page, { total: found.total }, found.members.map(renderMember), {
        sort: { by: 'name', order: 'ASC' },
      });
    },
  );

  app.put(
    '/dlmlocks/:id/members/:host',
    {
      config: access({ kind: 'user', role: 'operator' }),
      schema: { response: { 200: memberSchema } },
    },
    async (request: MemberRequest) => {
      const { id, host } = request.params;
      const done = changed(await members.add(id, host, auditActor(request.who)), id, host);
      return renderMember(done.member!);
    },
  );

  app.delete(
    '/dlmlocks/:id/members/:host',
    {
      config: access({ kind: 'user', role: 'operator' }),
      schema: { response: { 200: removalSchema } },
    },
    async (request: MemberRequest) => {
      const { id, host } = request.params;
      const done = changed(await members.remove(id, host, auditActor(request.who)), id, host);
      return { name: host, member: done.member ? renderMember(done.member) : null };
    },
  );
}
