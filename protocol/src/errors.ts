// The error answers both sides know: foreman_dlm's `{"error":{...}}` body and its one 412 text.

/** foreman_dlm's 412 message; it says nothing specific, X-Lock-Reason does. */
export const PRECONDITION_FAILED_MESSAGE =
  'Precondition failed. Lock is in invalid state for this operation.';

/** Every error answer: Foreman's shape, with keyholder's extra keys where they apply. */
export interface ErrorBody {
  error: {
    message: string;
    /** the lock's id, on a 412 of the foreman_dlm routes */
    id?: number;
    /** outside the maintenance windows: when the next one opens, or null within a week */
    next_window_at?: string | null;
    /** a 422: the problems of each field */
    [field: string]: unknown;
  };
}

/** The kinds of failure a client tells apart; each has its own exit code (client/src/errors.ts). */
export const ERROR_KINDS = [
  /** the lock exists but cannot be taken/released now (HTTP 412, or our own run is busy) */
  'unavailable',
  /** bad or missing configuration, unreadable certificate files */
  'config',
  /** the server could not be reached, or the connection broke before its answer */
  'unreachable',
  /** TLS failed in the handshake: the server's certificate is not trusted, or ours was rejected */
  'tls',
  /** the server answered 401/403 */
  'auth',
  /** any other unexpected HTTP answer, or a body that is not what the API promises */
  'protocol',
  /** an update hook failed or timed out; the lock is deliberately kept */
  'hook',
  /** the local state file or file lock could not be used */
  'local',
  /** stopped by SIGTERM/SIGINT/SIGHUP */
  'interrupted',
  /** this host held the lock and does not any more (lease ran out, an operator freed it) */
  'lost',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];
