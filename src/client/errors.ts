// The client's small set of failure kinds. Each maps to one exit code, so scripts and systemd
// can tell "try again later" (1) from "something is broken" (2) without parsing messages.

export type ClientErrorKind =
  /** the lock exists but cannot be taken/released now (HTTP 412, or our own run is busy) */
  | 'unavailable'
  /** bad or missing configuration, unreadable certificate files */
  | 'config'
  /** the server could not be reached (refused, DNS, timeout, reset) */
  | 'unreachable'
  /** TLS failed: the server's certificate is not trusted, or ours was rejected in the handshake */
  | 'tls'
  /** the server answered 401/403: this host (certificate) is not allowed */
  | 'auth'
  /** any other unexpected HTTP answer, or a body that is not what the API promises */
  | 'protocol'
  /** an update hook failed or timed out; the lock is deliberately kept */
  | 'hook'
  /** the local state file or file lock could not be used */
  | 'local'
  /** stopped by SIGTERM/SIGINT/SIGHUP (shutdown, Ctrl-C) */
  | 'interrupted';

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

export function exitCodeFor(err: unknown): number {
  return err instanceof ClientError && err.kind === 'unavailable' ? EXIT_UNAVAILABLE : EXIT_ERROR;
}

/** Worth another attempt later in the same run (acquire retries): busy lock or a flaky network. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof ClientError)) return false;
  if (err.kind === 'unavailable' || err.kind === 'unreachable') return true;
  // 5xx: a server restarting behind a proxy (502/503) comes back by itself
  return err.kind === 'protocol' && (err.details.status ?? 0) >= 500;
}
