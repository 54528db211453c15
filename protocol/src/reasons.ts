// Why an acquire was refused: the X-Lock-Reason header of a 412 (foreman_dlm's body says
// nothing specific, so keyholder tells its clients in a header).

export const LOCK_REASONS = [
  'held',
  'full',
  'queued',
  'disabled',
  'host_barred',
  'outside_window',
  'paused',
  'blackout',
  'gate_failed',
] as const;

export type LockReason = (typeof LOCK_REASONS)[number];

export function isLockReason(value: string): value is LockReason {
  return (LOCK_REASONS as readonly string[]).includes(value);
}

/**
 * The refusals of a lock's calendar (an operator's pause, a blackout, outside the maintenance
 * windows): they last until a moment the server knows and names in X-Lock-Next-Window, so a
 * client waits for it instead of retrying, and FleetLock says when new holders get in.
 */
export const CALENDAR_REASONS = [
  'paused',
  'blackout',
  'outside_window',
] as const satisfies readonly LockReason[];

export type CalendarReason = (typeof CALENDAR_REASONS)[number];

export function isCalendarReason(value: string): value is CalendarReason {
  return (CALENDAR_REASONS as readonly string[]).includes(value);
}
