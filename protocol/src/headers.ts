// keyholder's response headers on the foreman_dlm routes. Node lower-cases header names on
// receipt, so clients read them with `.toLowerCase()`.

export const HEADERS = {
  /** a 412's reason: one of LOCK_REASONS */
  lockReason: 'X-Lock-Reason',
  /** a 412's current holders: URL-encoded host names, comma-separated */
  lockHolders: 'X-Lock-Holders',
  /** a 412 outside the maintenance windows: when the next one opens (ISO 8601) */
  lockNextWindow: 'X-Lock-Next-Window',
  /** a 412 for a failed health gate: `<gate name>: <why>` */
  lockGate: 'X-Lock-Gate',
  /** a granted acquire: this host's fencing token */
  fencingToken: 'X-Fencing-Token',
} as const;
