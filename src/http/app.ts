// Builds the HTTP application without listening (tests inject; the server command listens).
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ServerOptions as HttpsOptions } from 'node:https';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import { authorize, type Access } from '../identity/access.js';
import { IdentityResolver, type Requester } from '../identity/requester.js';
import { LockService } from '../service/locks.js';
import type { Store } from '../store/store.js';
import { dlmlockRoutes } from './dlmlocks.js';
import { frameworkErrorHandler, installErrorHandling } from './errors.js';
import { healthRoutes } from './health.js';

declare module 'fastify' {
  interface FastifyRequest {
    who: Requester;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export interface AppDeps {
  config: Config;
  store: Store;
  https?: HttpsOptions;
  logger?: FastifyServerOptions['logger'];
}

/** Foreman accepts an optional API version segment. */
export const API_PREFIXES = ['/api', '/api/v1', '/api/v2'];

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, store } = deps;
  const app = Fastify({
    ...(deps.https ? { https: deps.https } : {}),
    logger: deps.logger ?? false,
    bodyLimit: config.http.bodyLimit,
    // the shipped `updatelock` script builds …/api/dlmlocks//NAME/lock; Rails accepts it
    routerOptions: { ignoreDuplicateSlashes: true, ignoreTrailingSlash: true, maxParamLength: 2048 },
    trustProxy: false,
    return503OnClosing: true,
    frameworkErrors: frameworkErrorHandler,
  });

  installErrorHandling(app);
  installJsonParsing(app);

  const identity = new IdentityResolver(config, store);
  app.decorateRequest('who', null as unknown as Requester);
  app.addHook('onRequest', async (request) => {
    request.who = await identity.resolve(request.raw);
    // Routes declare their access; one with no declaration is refused, never open by accident.
    const declared = request.routeOptions.config.access;
    if (!declared && request.is404) return;
    authorize(declared ?? { kind: 'user', role: 'admin' }, request.who);
  });

  const locks = new LockService(store, config.hosts.autoRegister);
  const staleAfterMs = config.locks.staleAfterSeconds * 1000;
  for (const prefix of API_PREFIXES) {
    await app.register(dlmlockRoutes, { prefix, locks, staleAfterMs });
  }
  await app.register(healthRoutes, { store });
  return app;
}

function installJsonParsing(app: FastifyInstance): void {
  const strictJson = app.getDefaultJsonParser('error', 'error');
  // Existing clients PUT/DELETE …/lock with `Content-Type: application/json` and no body.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (String(body).trim() === '') return done(null, undefined);
    strictJson(request, String(body), (err, value) =>
      err
        ? done(new AppError('unparseable_body', `The request body is not valid JSON: ${err.message}`))
        : done(null, value),
    );
  });
}
