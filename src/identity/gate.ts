// The access gate: every request is identified and authorized here, before its route runs,
// against the access the route declares (`config: { access }`). Handlers never check roles.
// Cookie-authenticated changes must also carry the session's CSRF token.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { Store } from '../store/store.js';
import { authorize, type Access } from './access.js';
import { IdentityResolver, type Requester } from './requester.js';
import { sameSecret } from './secrets.js';

export interface RouteEntry {
  method: string;
  url: string;
  /** the route's options; `config.access` is read from here when needed */
  route: RouteOptions;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** every route with its declared access, for the OpenAPI document and the access tests */
    routeEntries: RouteEntry[];
  }
}

/** What a route without a declaration gets: refused unless admin, never open by accident. */
export const UNDECLARED: Access = { kind: 'user', role: 'admin' };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function accessOf(route: Pick<RouteOptions, 'config'>): Access | undefined {
  return (route.config as { access?: Access } | undefined)?.access;
}

function checkCsrf(access: Access, request: FastifyRequest): void {
  const who = request.who;
  if (who.via !== 'session' || SAFE_METHODS.has(request.method)) return;
  // public routes (login) and host routes do not act as the session's user
  if (access.kind === 'public' || access.kind === 'host') return;
  const sent = request.headers['x-csrf-token'];
  if (typeof sent !== 'string' || !sameSecret(sent, who.csrfToken!)) throw new AppError('csrf_failed');
}

/** Who asks is known: may they, on this route? */
function admit(
  request: FastifyRequest,
  reply: FastifyReply,
  who: Requester,
  done: (err?: Error) => void,
): void {
  request.who = who;
  const declared = request.routeOptions.config.access;
  if (!declared && request.is404) {
    done();
    return;
  }
  const access = declared ?? UNDECLARED;
  try {
    authorize(access, who);
    checkCsrf(access, request);
  } catch (err) {
    if (who.retryAfterSeconds) reply.header('Retry-After', String(who.retryAfterSeconds));
    done(err as Error);
    return;
  }
  done();
}

export async function installAccessGate(
  app: FastifyInstance,
  deps: { config: Config; store: Store },
): Promise<IdentityResolver> {
  // No cookie plugin: its hooks would parse and write cookies on every request and response,
  // while only the session cookie is ever read (requester.ts) or set (src/http/session.ts).
  const identity = new IdentityResolver(deps.config, deps.store);

  const entries: RouteEntry[] = [];
  app.decorate('routeEntries', entries);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) entries.push({ method, url: route.url, route });
  });

  app.decorateRequest('who', null as unknown as Requester);
  // A callback hook: for a host on a known connection (the lock path) identity is synchronous,
  // and the request pays for no promise here.
  app.addHook('onRequest', (request, reply, done) => {
    let who: Requester | Promise<Requester>;
    try {
      who = identity.resolve(request);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (who instanceof Promise) who.then((resolved) => admit(request, reply, resolved, done), done);
    else admit(request, reply, who, done);
  });
  return identity;
}
