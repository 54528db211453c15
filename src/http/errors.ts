// Every failure becomes Foreman's `{"error":{…}}` body with the catalogue's status. Fastify's
// own errors (bad JSON, body limits, content types) are mapped here too, so nothing a client
// sends can produce a 500; a real 500 is logged with its stack and answered without details.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
  void reply.code(appError.status).send(errorBody(appError));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = error instanceof AppError ? error : fromFastify(error);
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
