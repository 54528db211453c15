// /api/users: admins manage users and their roles. Passwords go in, never out: the JSON has
// no hash, and a new password ends the user's UI sessions.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { Access } from '../identity/access.js';
import { hashPassword } from '../identity/passwords.js';
import { auditActor } from '../identity/requester.js';
import { loginSchema, passwordSchema, roleSchema } from '../identity/user-input.js';
import type { AccountUser, Store } from '../store/store.js';
import { formatTimestamp } from '../lock/time.js';
import { indexSchema } from './render.js';
import { pageOf, wrap } from './paging.js';
import { zodBody } from './zod-body.js';

const ADMIN = { access: { kind: 'user', role: 'admin' } satisfies Access };

const createBody = z
  .object({ login: loginSchema, password: passwordSchema, role: roleSchema.default('viewer') })
  .strict();
const updateBody = z.object({ password: passwordSchema.optional(), role: roleSchema.optional() }).strict();

export const userSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    login: { type: 'string' },
    role: { type: 'string', enum: ['viewer', 'operator', 'admin'] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

export function renderUser(u: AccountUser) {
  return {
    id: u.id,
    login: u.login,
    role: u.role,
    created_at: formatTimestamp(u.createdAt),
    updated_at: formatTimestamp(u.updatedAt),
  };
}

type LoginRequest = FastifyRequest<{ Params: { login: string } }>;

function userNotFound(login: string): AppError {
  return new AppError('not_found', `Resource user not found by login '${login.slice(0, 100)}'`);
}

export async function userRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  const { accounts } = opts.store;
  const create = zodBody(createBody, 'user');
  const update = zodBody(updateBody, 'user');

  app.get(
    '/users',
    { config: ADMIN, schema: { tags: ['users'], response: { 200: indexSchema(userSchema) } } },
    async (request) => {
      const page = pageOf(request.query);
      const { total, users } = await accounts.listUsers(page.limit, page.offset);
      return wrap(page, { total }, users.map(renderUser), { sort: { by: 'login', order: 'ASC' } });
    },
  );

  app.post(
    '/users',
    {
      config: ADMIN,
      schema: { tags: ['users'], body: create.body, response: { 201: userSchema } },
      validatorCompiler: create.validatorCompiler,
    },
    async (request, reply) => {
      const body = request.body as z.output<typeof createBody>;
      const user = await accounts.createUser(
        { login: body.login, passwordHash: await hashPassword(body.password), role: body.role },
        auditActor(request.who),
      );
      return reply.code(201).send(renderUser(user));
    },
  );

  app.get(
    '/users/:login',
    { config: ADMIN, schema: { tags: ['users'], response: { 200: userSchema } } },
    async (request: LoginRequest) => {
      const user = await accounts.getUser(request.params.login);
      if (!user) throw userNotFound(request.params.login);
      return renderUser(user);
    },
  );

  app.put(
    '/users/:login',
    {
      config: ADMIN,
      schema: { tags: ['users'], body: update.body, response: { 200: userSchema } },
      validatorCompiler: update.validatorCompiler,
    },
    async (request: LoginRequest) => {
      const body = request.body as z.output<typeof updateBody>;
      const passwordHash = body.password === undefined ? undefined : await hashPassword(body.password);
      const user = await accounts.updateUser(
        request.params.login,
        { passwordHash, role: body.role },
        auditActor(request.who),
      );
      if (!user) throw userNotFound(request.params.login);
      return renderUser(user);
    },
  );

  app.delete(
    '/users/:login',
    { config: ADMIN, schema: { tags: ['users'], response: { 200: userSchema } } },
    async (request: LoginRequest) => {
      const user = await accounts.deleteUser(request.params.login, auditActor(request.who));
      if (!user) throw userNotFound(request.params.login);
      return renderUser(user);
    },
  );
}
