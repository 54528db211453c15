// /api/tokens: admins issue API tokens for automation (shown once, in the 201 answer only),
// list them with their last use, and revoke them. A revoked token stays listed, for the record.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { Access } from '../identity/access.js';
import { auditActor } from '../identity/requester.js';
import { issueToken, tokenState } from '../identity/tokens.js';
import { loginSchema } from '../identity/user-input.js';
import { formatNullableTimestamp, formatTimestamp } from '../lock/time.js';
import type { Store, TokenRow } from '../store/store.js';
import { pageOf, wrap } from './paging.js';
import { indexSchema } from './render.js';
import { zodBody } from './zod-body.js';

const ADMIN = { access: { kind: 'user', role: 'admin' } satisfies Access };
const MAX_DAYS = 3650;
const DAY_MS = 86_400_000;

/** Foreman's own `2019-06-13 12:14:53 UTC`, or ISO 8601 with a zone (`2030-01-01T00:00:00Z`). */
export function parseTimestamp(text: string): number | undefined {
  const foreman = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC$/.exec(text);
  const iso = foreman ? `${foreman[1]}T${foreman[2]}Z` : text;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(iso)) return undefined;
  // luxon refuses impossible dates (Date.parse would turn Feb 31 into Mar 3)
  const parsed = DateTime.fromISO(iso);
  return parsed.isValid ? parsed.toMillis() : undefined;
}

const createBody = z
  .object({
    user: loginSchema,
    name: z.string().trim().min(1, "can't be blank").max(100, 'must be at most 100 characters'),
    expires_at: z
      .string()
      .refine(
        (s) => parseTimestamp(s) !== undefined,
        'must be a time like 2030-01-31 12:00:00 UTC or ISO 8601 with a zone',
      )
      .nullable()
      .optional(),
    expires_in_days: z.number().int().min(1).max(MAX_DAYS).optional(),
  })
  .strict()
  .refine((b) => b.expires_at == null || b.expires_in_days === undefined, {
    message: 'give expires_at or expires_in_days, not both',
    path: ['expires_at'],
  });

const tokenProperties = {
  id: { type: 'integer' },
  name: { type: 'string' },
  user: { type: 'object', properties: { login: { type: 'string' } } },
  prefix: { type: 'string', description: 'the first characters of the token, to recognise it' },
  state: { type: 'string', enum: ['active', 'expired', 'revoked'] },
  created_by: { type: ['string', 'null'] },
  created_at: { type: 'string' },
  expires_at: { type: ['string', 'null'] },
  last_used_at: { type: ['string', 'null'] },
  revoked_at: { type: ['string', 'null'] },
} as const;

export const tokenSchema = { type: 'object', properties: tokenProperties } as const;
const createdTokenSchema = {
  type: 'object',
  properties: { ...tokenProperties, token: { type: 'string', description: 'the secret: shown only now' } },
} as const;

export function renderToken(t: TokenRow, now: number) {
  return {
    id: t.id,
    name: t.name,
    user: { login: t.userLogin },
    prefix: t.prefix,
    state: tokenState(t, now),
    created_by: t.createdBy,
    created_at: formatTimestamp(t.createdAt),
    expires_at: formatNullableTimestamp(t.expiresAt),
    last_used_at: formatNullableTimestamp(t.lastUsedAt),
    revoked_at: formatNullableTimestamp(t.revokedAt),
  };
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

function tokenId(ref: string): number {
  const id = /^\d{1,15}$/.test(ref) ? Number(ref) : NaN;
  if (!(id > 0)) throw new AppError('not_found', `Resource token not found by id '${ref.slice(0, 100)}'`);
  return id;
}

export async function tokenRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  const { store } = opts;
  const create = zodBody(createBody, 'token');

  app.get(
    '/tokens',
    {
      config: ADMIN,
      schema: {
        tags: ['tokens'],
        querystring: { type: 'object', properties: { user: { type: 'string' }, page: {}, per_page: {} } },
        response: { 200: indexSchema(tokenSchema) },
      },
    },
    async (request) => {
      const page = pageOf(request.query);
      const user = (request.query as Record<string, unknown>).user;
      const login = typeof user === 'string' && user !== '' ? user : undefined;
      const { total, tokens } = await store.accounts.listTokens({ login }, page.limit, page.offset);
      const now = Date.now();
      return wrap(
        page,
        { total },
        tokens.map((t) => renderToken(t, now)),
        {
          search: login === undefined ? null : `user = ${login}`,
          sort: { by: 'id', order: 'DESC' },
        },
      );
    },
  );

  app.post(
    '/tokens',
    {
      config: ADMIN,
      schema: { tags: ['tokens'], body: create.body, response: { 201: createdTokenSchema } },
      validatorCompiler: create.validatorCompiler,
    },
    async (request, reply) => {
      const body = request.body as z.output<typeof createBody>;
      const now = Date.now();
      const expiresAt =
        body.expires_in_days !== undefined
          ? now + body.expires_in_days * DAY_MS
          : body.expires_at == null
            ? null
            : parseTimestamp(body.expires_at)!;
      if (expiresAt !== null && expiresAt <= now) {
        throw new AppError('validation_failed', undefined, {
          fieldErrors: { expires_at: ['must be in the future'] },
        });
      }
      const { token, secret } = await issueToken(
        store,
        { login: body.user, name: body.name, expiresAt },
        auditActor(request.who),
      );
      return reply.code(201).send({ ...renderToken(token, now), token: secret });
    },
  );

  app.get(
    '/tokens/:id',
    { config: ADMIN, schema: { tags: ['tokens'], response: { 200: tokenSchema } } },
    async (request: IdRequest) => {
      const token = await store.accounts.getToken(tokenId(request.params.id));
      if (!token) throw new AppError('not_found', `Resource token not found by id '${request.params.id}'`);
      return renderToken(token, Date.now());
    },
  );

  app.delete(
    '/tokens/:id',
    { config: ADMIN, schema: { tags: ['tokens'], response: { 200: tokenSchema } } },
    async (request: IdRequest) => {
      const token = await store.accounts.revokeToken(tokenId(request.params.id), auditActor(request.who));
      if (!token) throw new AppError('not_found', `Resource token not found by id '${request.params.id}'`);
      return renderToken(token, Date.now());
    },
  );
}
