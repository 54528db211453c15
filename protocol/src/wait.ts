// Blocking acquire (`PUT …/lock?wait=SECONDS`): the server holds a request at most this long,
// below the idle timeouts of the usual load balancers; a client that wants to wait longer asks
// again.

export const MAX_WAIT_SECONDS = 300;

/** A wait the server accepts: longer ones are asked as the cap. */
export function clampWait(seconds: number): number {
  return Math.min(seconds, MAX_WAIT_SECONDS);
}
