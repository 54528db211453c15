// Builds the HTTP application without listening (tests inject; the server command listens).
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { isUtf8 } from 'node:buffer';
import type { ServerOptions as HttpsOptions } from 'node:https';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { Access } from '../identity/access.js';
import { installAccessGate } from '../identity/gate.js';
import type { Requester } from '../identity/requester.js';
import { TlsExpiryWatch } from '../pki/expiry.js';
import { EventHub } from '../service/event-stream.js';
import { LockService } from '../service/locks.js';
import { GateCredentials } from '../gates/credentials.js';
import { lockMembersOf } from '../gates/members-source.js';
import { GateRunner } from '../gates/runner.js';
import type { Store } from '../store/store.js';
import { dlmlockRoutes } from './dlmlocks.js';
import { pauseRoutes } from './pause.js';
import { PauseService } from '../service/pause.js';
import { eventRoutes } from './events.js';
import { lockReleaseRoutes } from './lock-release.js';
import { memberRoutes } from './members.js';
import {
  clientErrorHandler,
  frameworkErrorHandler,
  installErrorHandling,
  installResponseHeaders,
} from './errors.js';
import { eventListRoutes } from './event-list.js';
import { overviewRoutes } from './overview.js';
import { fleetlockRoutes } from './fleetlock.js';
import { installTextGuard } from './text-guard.js';
import { healthRoutes } from './health.js';
import { installMetrics } from './metrics.js';
import { auditRoutes } from './audit.js';
import { hostRoutes } from './hosts.js';
import { registerOpenApi } from './openapi.js';
import { sessionRoutes } from './session.js';
import { tokenRoutes } from './tokens.js';
import { uiRoutes } from './ui.js';
import { userRoutes } from './users.js';

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
  /** the expiry dates of the TLS material in use, kept current by the reloader (default: of `https`) */
  tls?: TlsExpiryWatch;
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
    // request.ip honours X-Forwarded-For only from these addresses (logs, login rate limits)
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    return503OnClosing: true,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });

  installErrorHandling(app);
  installResponseHeaders(app);
  installTextGuard(app);
  installJsonParsing(app);

  // Who is asking, and may they: one gate for every route, from the access each declares;
  // a route with no declaration is refused unless admin, never open by accident.
  const identity = await installAccessGate(app, { config, store });
  await registerOpenApi(app);

  const pauses = new PauseService(store);
  const gates = new GateRunner({
    store,
    credentials: new GateCredentials(config.gates.credentials),
    membersOf: lockMembersOf(store),
    onRecordError: (err) => app.log.warn({ err }, 'a health gate outcome could not be recorded'),
  });
  const locks = new LockService(store, config.hosts.autoRegister, gates);
  // Blocked acquires would hold a graceful shutdown up for minutes; they get a 503 to retry.
  app.addHook('preClose', async () => locks.stop());
  const staleAfterMs = config.locks.staleAfterSeconds * 1000;
  const events = new EventHub(store, { maxClients: config.http.maxEventStreams });
  // open streams never end by themselves: they must not hold a graceful shutdown up
  app.addHook('preClose', async () => events.close());
  // before the routes, so its response hook counts every one of them
  installMetrics(app, {
    store,
    staleAfterMs,
    maxLockLabels: config.metrics.maxLockLabels,
    instanceId: config.instanceId,
    tls: deps.tls ?? (deps.https ? new TlsExpiryWatch(deps.https) : undefined),
    gates,
  });
  for (const prefix of API_PREFIXES) {
    await app.register(dlmlockRoutes, { prefix, locks, staleAfterMs, pauses });
    await app.register(pauseRoutes, { prefix, pauses });
    await app.register(lockReleaseRoutes, { prefix, locks, staleAfterMs });
    await app.register(memberRoutes, { prefix, store });
    await app.register(userRoutes, { prefix, store });
    await app.register(tokenRoutes, { prefix, store });
    await app.register(sessionRoutes, { prefix, store, identity, config });
    await app.register(hostRoutes, { prefix, store, staleAfterMs });
    await app.register(auditRoutes, { prefix, store });
    await app.register(overviewRoutes, { prefix, store, staleAfterMs });
    await app.register(eventRoutes, {
      prefix,
      hub: events,
      maxAgeMs: config.http.maxConnectionAgeSeconds * 1000,
    });
    await app.register(eventListRoutes, { prefix, store });
  }
  await app.register(fleetlockRoutes, {
    locks,
    config: config.fleetlock,
    trustedProxies: config.trustedProxies,
  });
  await app.register(healthRoutes, { store });
  // last and catch-all: every other GET is a path of the single-page UI
  await app.register(uiRoutes);
  return app;
}

function installJsonParsing(app: FastifyInstance): void {
  const strictJson = app.getDefaultJsonParser('error', 'error');
  // Existing clients PUT/DELETE …/lock with `Content-Type: application/json` and no body.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    // decoding would silently turn invalid bytes into U+FFFD: refuse them instead
    if (!isUtf8(raw as Buffer)) return done(new AppError('bad_text', 'The request body is not valid UTF-8'));
    const body = (raw as Buffer).toString('utf8');
    if (body.trim() === '') return done(null, undefined);
    strictJson(request, body, (err, value) =>
      err
        ? done(new AppError('unparseable_body', `The request body is not valid JSON: ${err.message}`))
        : done(null, value),
    );
  });
}
