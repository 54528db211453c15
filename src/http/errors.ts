// Every failure becomes Foreman's `{"error":{…}}` body with the catalogue's status. Fastify's
// own errors (bad JSON, body limits, content types) are mapped here too, so nothing a client
// sends can produce a 500; a real 500 is logged with its stack and answered without details.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, ERRORS, fullMessages } from '../errors.js';

/** What a 503 tells clients: the database is back within seconds after a restart or failover. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

export function errorBody(err: AppError): Record<string, unknown> {
  if (err.fieldErrors) {
    const messages = fullMessages(err.fieldErrors);
    return {
      error: {
        id: null,
        message: `Validation failed: ${messages.join(', ')}`,
        errors: err.fieldErrors,
        full_messages: messages,
      },
    };
  }
  return { error: { message: err.message, ...err.details } };
}

function fromFastify(err: FastifyError): AppError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('body_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('bad_request', err.message);
    case 'FST_ERR_VALIDATION':
      return new AppError('validation_failed', undefined, {
        fieldErrors: { [err.validationContext ?? 'request']: [err.message] },
      });
  }
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new AppError('unparseable_body', `The request body is not valid JSON: ${err.message}`);
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    const code = err.statusCode === 404 ? 'route_not_found' : 'bad_request';
    return Object.assign(new AppError(code, err.message), { status: err.statusCode });
  }
  return undefined;
}

/** PostgreSQL's "character not in repertoire" / "untranslatable character". */
const DATABASE_TEXT_ERRORS = new Set(['22021', '22P05']);

/**
 * A safety net behind the text guard (src/http/text-guard.ts): text PostgreSQL cannot store is
 * the client's fault, a 400, even if some path let it through. Logged, since it means a gap.
 */
export function fromDatabaseText(err: unknown): AppError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DATABASE_TEXT_ERRORS.has(code) ? new AppError('bad_text') : undefined;
}

/**
 * Errors the router raises before any hook runs (broken percent-encoding, over-long path
 * parameters); fastify hands them to `frameworkErrors`, not to the error handler.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const appError =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new AppError('uri_too_long')
      : error.code === 'FST_ERR_BAD_URL'
        ? new AppError('bad_url')
        : (fromFastify(error) ?? new AppError('bad_request'));
  void reply.code(appError.status).headers(SECURITY_HEADERS).send(errorBody(appError));
}

/** Headers every response carries, including those written below the framework. */
export const SECURITY_HEADERS = {
  // keyholder only speaks HTTPS: browsers must never try it in clear text
  'strict-transport-security': 'max-age=31536000',
  'x-content-type-options': 'nosniff',
} as const;

/**
 * What node's HTTP parser refuses before fastify sees a request (a malformed request line,
 * headers too large, a request that did not arrive in time) is written here, straight to the
 * socket, in the same error body as every other error; then the connection is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const appError =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError('headers_too_large')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError('request_timeout')
        : new AppError('bad_request', 'Bad request: the HTTP request is malformed');
  const body = JSON.stringify(errorBody(appError));
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
    connection: 'close',
  };
  if (socket.writable) {
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
    socket.write(
      `HTTP/1.1 ${appError.status} ${STATUS_CODES[appError.status]}\r\n${lines.join('\r\n')}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** What every answer says unless its route says otherwise (the UI's assets set their caching). */
const DEFAULT_HEADERS = { ...SECURITY_HEADERS, 'cache-control': 'no-store' } as const;

/**
 * Every response gets the security headers; API answers are never cached (they carry tokens,
 * session data and lock state) unless a route chose otherwise (the UI's assets). Set as the
 * very first step of every request (before any check can refuse it), so errors carry them too;
 * a route's own cache-control, set later, replaces the default. Not an onSend hook: that stage
 * would cost every response a hook run of its own.
 */
export function installResponseHeaders(app: FastifyInstance): void {
  // a callback hook: no promise per request
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(DEFAULT_HEADERS);
    done();
  });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = error instanceof AppError ? error : (fromFastify(error) ?? fromDatabaseText(error));
    if (appError?.code === 'bad_text' && !(error instanceof AppError)) {
      request.log.warn({ err: error }, 'text the database refused passed the edge checks');
    }
    if (!appError) {
      request.log.error({ err: error }, 'unhandled error');
      return reply.code(500).send({ error: { message: ERRORS.internal.message } });
    }
    // An outage is logged once per episode by the store (src/store/health.ts), not per request.
    if (appError.status >= 500 && appError.code !== 'unavailable')
      request.log.warn({ err: error }, appError.message);
    if (appError.status === 503 && !reply.hasHeader('Retry-After')) {
      reply.header('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    }
    return reply.code(appError.status).send(errorBody(appError));
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send({ error: { message: `${ERRORS.route_not_found.message}: ${request.method} ${request.url}` } });
  });
}
