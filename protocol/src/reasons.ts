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
