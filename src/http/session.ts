// /api/session: the web UI's login (POST), "who am I" (GET) and logout (DELETE). The session
// lives in an HttpOnly, Secure, SameSite=Strict cookie; changes made with it need the
// X-CSRF-Token header from the login answer or from GET /api/session.
import { fastifyCookie, type SerializeOptions } from '@fastify/cookie';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { Access } from '../identity/access.js';
import { auditActor, SESSION_COOKIE, type IdentityResolver } from '../identity/requester.js';
import { hashPassword } from '../identity/passwords.js';
import { csrfTokenFor, newSessionId } from '../identity/secrets.js';
import { passwordSchema } from '../identity/user-input.js';
import { formatTimestamp } from '../lock/time.js';
import type { Store } from '../store/store.js';
import { zodBody } from './zod-body.js';

const PUBLIC = { access: { kind: 'public' } satisfies Access };
const ANY_USER = { access: { kind: 'user', role: 'viewer' } satisfies Access };

// Lengths only: a wrong login and a wrong password must look the same (401), not like a 422.
const loginBody = z
  .object({ login: z.string().min(1).max(200), password: z.string().min(1).max(1024) })
  .strict();

const passwordBody = z
  .object({ current_password: z.string().min(1).max(1024), password: passwordSchema })
  .strict();

const sessionSchema = {
  type: 'object',
  properties: {
    user: {
      type: 'object',
      properties: { id: { type: 'integer' }, login: { type: 'string' }, role: { type: 'string' } },
    },
    authenticated_by: { type: 'string', enum: ['session', 'basic', 'token'] },
    csrf_token: { type: ['string', 'null'], description: 'send as X-CSRF-Token with every change' },
    expires_at: { type: ['string', 'null'], description: 'the absolute end of the session' },
  },
} as const;

const SESSION_COOKIE_OPTIONS = { path: '/', httpOnly: true, secure: true, sameSite: 'strict' } as const;

/**
 * Set-Cookie written here rather than by a cookie plugin, whose hooks would run on every
 * request and response of the server for the sake of these three routes. The header is
 * the one @fastify/cookie's setCookie/clearCookie wrote: same serializer, same attributes.
 */
function setSessionCookie(reply: FastifyReply, value: string, options: SerializeOptions): void {
  reply.header('set-cookie', fastifyCookie.serialize(SESSION_COOKIE, value, options));
}

export interface SessionRoutesOptions {
  store: Store;
  identity: IdentityResolver;
  config: Config;
}

export async function sessionRoutes(app: FastifyInstance, opts: SessionRoutesOptions): Promise<void> {
  const { store, identity } = opts;
  const { sessionIdleSeconds, sessionMaxSeconds } = opts.config.auth;
  const login = zodBody(loginBody, 'session');
  const changePassword = zodBody(passwordBody);

  const clearCookie = (reply: FastifyReply) =>
    setSessionCookie(reply, '', { ...SESSION_COOKIE_OPTIONS, expires: new Date(0), maxAge: 0 });

  app.post(
    '/session',
    {
      config: PUBLIC,
      schema: { tags: ['session'], body: login.body, response: { 200: sessionSchema } },
      validatorCompiler: login.validatorCompiler,
    },
    async (request, reply) => {
      const body = request.body as z.output<typeof loginBody>;
      const address = request.who.address;
      const check = await identity.passwords.check(body.login, body.password, address, 'session');
      if (!check.ok) {
        if (check.rejection === 'too_many_attempts') {
          reply.header('Retry-After', String(check.retryAfterSeconds));
          throw new AppError('too_many_attempts', undefined, {
            details: { retry_after: check.retryAfterSeconds },
          });
        }
        // the check has audited the failure
        throw new AppError('unauthorized');
      }
      const { secret, hash } = newSessionId();
      const { createdAt } = await store.accounts.createSession(
        {
          idHash: hash,
          user: check.user,
          idleMs: sessionIdleSeconds * 1000,
          maxMs: sessionMaxSeconds * 1000,
        },
        { userId: check.user.id, login: check.user.login, address },
      );
      setSessionCookie(reply, secret, { ...SESSION_COOKIE_OPTIONS, maxAge: sessionMaxSeconds });
      return {
        user: { id: check.user.id, login: check.user.login, role: check.user.role },
        authenticated_by: 'session',
        csrf_token: csrfTokenFor(secret),
        expires_at: formatTimestamp(createdAt + sessionMaxSeconds * 1000),
      };
    },
  );

  app.get(
    '/session',
    { config: ANY_USER, schema: { tags: ['session'], response: { 200: sessionSchema } } },
    async (request) => {
      const { user, via, csrfToken, sessionExpiresAt } = request.who;
      return {
        user: { id: user!.id, login: user!.login, role: user!.role },
        authenticated_by: via,
        csrf_token: csrfToken ?? null,
        expires_at: sessionExpiresAt === undefined ? null : formatTimestamp(sessionExpiresAt),
      };
    },
  );

  app.delete(
    '/session',
    { config: ANY_USER, schema: { tags: ['session'], response: { 204: { type: 'null' } } } },
    async (request, reply) => {
      if (request.who.sessionHash)
        await store.accounts.endSession(request.who.sessionHash, auditActor(request.who));
      clearCookie(reply);
      return reply.code(204).send();
    },
  );

  // Every user changes their own password here (admins change anyone's via /api/users). It
  // ends all the user's sessions, this one included: the UI logs in again with the new one.
  app.put(
    '/session/password',
    {
      config: ANY_USER,
      schema: { tags: ['session'], body: changePassword.body, response: { 204: { type: 'null' } } },
      validatorCompiler: changePassword.validatorCompiler,
    },
    async (request, reply) => {
      const body = request.body as z.output<typeof passwordBody>;
      const user = request.who.user!;
      const check = await identity.passwords.check(user.login, body.current_password, request.who.address);
      if (!check.ok && check.rejection === 'too_many_attempts') {
        reply.header('Retry-After', String(check.retryAfterSeconds));
        throw new AppError('too_many_attempts', undefined, {
          details: { retry_after: check.retryAfterSeconds },
        });
      }
      if (!check.ok) {
        throw new AppError('validation_failed', undefined, {
          fieldErrors: { current_password: ['is not correct'] },
        });
      }
      await store.accounts.updateUser(
        user.login,
        { passwordHash: await hashPassword(body.password) },
        auditActor(request.who),
      );
      clearCookie(reply);
      return reply.code(204).send();
    },
  );
}
