// The error catalogue: every error keyholder answers with, its HTTP status and its message.
// Route handlers throw `AppError`s by code; src/http/errors.ts renders them in Foreman's
// `{"error":{...}}` shape. A test checks that every code here is documented in the README.

import { PRECONDITION_FAILED_MESSAGE } from 'keyholder-protocol';

export const ERRORS = {
  unauthorized: { status: 401, message: 'Unable to authenticate user' },
  host_not_user: {
    status: 401,
    message: 'Unable to authenticate user. This endpoint needs user credentials, not a host certificate.',
  },
  host_required: {
    status: 403,
    message:
      'Access denied. You need to authenticate with a valid client cert. The DN has to match a known host.',
  },
  unknown_host: {
    status: 403,
    message:
      'Access denied. The client certificate is valid but its host is not registered and automatic registration is off; an admin must add it.',
  },
  token_expired: { status: 401, message: 'Unable to authenticate user. The API token has expired.' },
  token_revoked: { status: 401, message: 'Unable to authenticate user. The API token has been revoked.' },
  session_expired: {
    status: 401,
    message: 'Unable to authenticate user. The session has expired or ended; log in again.',
  },
  certificate_rejected: { status: 401, message: 'The client certificate was not accepted' },
  forbidden: { status: 403, message: 'Access denied. Your role does not allow this action.' },
  csrf_failed: {
    status: 403,
    message:
      'Access denied. A change made with the session cookie needs the X-CSRF-Token header (csrf_token from /api/session).',
  },
  too_many_attempts: { status: 429, message: 'Too many failed logins; try again later' },
  not_found: { status: 404, message: 'Resource not found' },
  route_not_found: { status: 404, message: 'Route not found' },
  // foreman_dlm's text, which clients compare against (keyholder-protocol)
  precondition_failed: { status: 412, message: PRECONDITION_FAILED_MESSAGE },
  bad_request: { status: 400, message: 'Bad request' },
  bad_url: { status: 400, message: 'The URL is not valid (broken percent-encoding)' },
  uri_too_long: {
    status: 414,
    message: 'The URL is too long: a lock name or id in the path may be at most 2048 characters',
  },
  bad_text: {
    status: 400,
    message: 'The request contains a NUL byte, invalid UTF-8 or a lone surrogate',
  },
  unparseable_body: { status: 400, message: 'The request body is not valid JSON' },
  body_too_large: { status: 413, message: 'The request body is too large' },
  request_timeout: {
    status: 408,
    message: 'The request did not arrive in time (http.requestTimeoutSeconds)',
  },
  headers_too_large: { status: 431, message: 'The request headers are too large' },
  unsupported_media_type: { status: 415, message: 'Unsupported content type; send application/json' },
  validation_failed: { status: 422, message: 'Validation failed' },
  invalid_search: { status: 422, message: 'Invalid search query' },
  invalid_pagination: { status: 422, message: 'Invalid pagination' },
  client_gone: { status: 499, message: 'The client closed the connection while waiting for the lock' },
  too_many_streams: {
    status: 503,
    message: 'Too many event streams are open on this server; try again later',
  },
  unavailable: { status: 503, message: 'Service unavailable: the database cannot be reached' },
  internal: { status: 500, message: 'Internal server error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Per-field validation messages, as Rails/Foreman render them. */
export type FieldErrors = Record<string, string[]>;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  readonly fieldErrors?: FieldErrors;

  constructor(
    code: ErrorCode,
    message?: string,
    extra: { details?: Record<string, unknown>; fieldErrors?: FieldErrors } = {},
  ) {
    super(message ?? ERRORS[code].message);
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = extra.details;
    this.fieldErrors = extra.fieldErrors;
  }
}

/** A 422 in Rails' shape: `errors` per field plus `full_messages`. */
export function validationError(fieldErrors: FieldErrors): AppError {
  return new AppError('validation_failed', undefined, { fieldErrors });
}

export function fullMessages(fieldErrors: FieldErrors): string[] {
  return Object.entries(fieldErrors).flatMap(([field, msgs]) =>
    msgs.map((m) => `${field === 'base' ? '' : humanize(field) + ' '}${m}`.trim()),
  );
}

function humanize(field: string): string {
  const words = field.replace(/_id$/, '').replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
