// The client's small set of failure kinds. Each maps to one exit code, so scripts and systemd
// can tell "try again later" (1) from "something is broken" (2), "the server could not be
// reached" (3, systemd restarts the units on it) and "the lock was lost while held" (4) without
// parsing messages.

import type { ErrorKind } from 'keyholder-protocol';

// the kinds themselves, each explained, are keyholder-protocol's ERROR_KINDS
export type ClientErrorKind = ErrorKind;

export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    readonly kind: ClientErrorKind,
    message: string,
    readonly details: { status?: number; reason?: string; code?: string } = {},
  ) {
    super(message);
  }
}

export const EXIT_OK = 0;
export const EXIT_UNAVAILABLE = 1;
export const EXIT_ERROR = 2;
/** the server could not be reached (or the connection broke); the units restart on it */
export const EXIT_UNREACHABLE = 3;
/** the lock was lost while this host held it */
export const EXIT_LOCK_LOST = 4;

export function exitCodeFor(err: unknown): number {
  if (!(err instanceof ClientError)) return EXIT_ERROR;
  switch (err.kind) {
    case 'unavailable':
      return EXIT_UNAVAILABLE;
    case 'unreachable':
      return EXIT_UNREACHABLE;
    case 'lost':
      return EXIT_LOCK_LOST;
    default:
      return EXIT_ERROR;
  }
}

/** Worth another attempt later in the same run (acquire retries): busy lock or a flaky network. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof ClientError)) return false;
  if (err.kind === 'unavailable' || err.kind === 'unreachable') return true;
  // 5xx: a server restarting behind a proxy (502/503) comes back by itself
  return isServerFailure(err);
}

function isServerFailure(err: ClientError): boolean {
  return err.kind === 'protocol' && (err.details.status ?? 0) >= 500;
}

/**
 * Whether a request that failed this way may still have been carried out by the server: the
 * connection broke (or we gave up) after the request went out, or a proxy answered 5xx for a
 * server that may have committed. An acquire that failed so may have been granted.
 */
export function outcomeUnknown(err: unknown): boolean {
  if (!(err instanceof ClientError)) return true;
  return err.kind === 'unreachable' || err.kind === 'interrupted' || isServerFailure(err);
}
