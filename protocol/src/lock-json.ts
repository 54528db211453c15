// The lock JSON of GET/PUT/DELETE /api/dlmlocks/:id/lock as keyholder sends it: foreman_dlm's
// keys plus keyholder's extensions. A Foreman server sends only the base keys, so clients parse
// the extensions as optional. Type aliases, not interfaces, so a record of them fits the
// client's tolerant parse (which keeps unknown keys).

export type HolderJson = {
  name: string;
  acquired_at: string;
  fencing_token: number;
  /** null without a lease */
  expires_at: string | null;
  /** nested locks: the child lock this slot was taken through; absent when acquired directly */
  via?: string;
};

/**
 * A maintenance window: from start (HH:MM) for duration_minutes, in time_zone, on the days of
 * exactly one rule: weekly `days`, the n-th (or last, -1) weekday of a month, or days of the month.
 */
export type WindowJson = {
  start: string;
  duration_minutes: number;
  time_zone: string;
} & ({ days: string[] } | { nth_weekday: { nth: number; day: string } } | { days_of_month: number[] });

/** Whole local days (from and to inclusive, YYYY-MM-DD) on which no new holder is admitted. */
export type BlackoutJson = { from: string; to: string; time_zone: string; reason?: string };
/** A health gate's definition; the keys beyond these depend on its type (see the README). */
export type GateJson = { name: string; type: string; cache_seconds: number };

export type LockJson = {
  id: number;
  host_id: number | null;
  name: string;
  enabled: boolean;
  type: string;
  created_at: string;
  updated_at: string;
  /** the first holder; `self` only when a host asks */
  host: { name: string; self?: boolean } | null;
  /** the limit in force now (a percentage rule's current number) */
  max_holders: number;
  /** the limit as given: the number, or "10%" of the lock's members */
  max_holders_rule?: number | string;
  /** the lock's current members; null where not counted (a host's acquire of a fixed-limit lock) */
  members_count?: number | null;
  /** days an acquire keeps a host a member */
  members_days?: number;
  lease_seconds: number | null;
  /** the asking host's own token when it holds the lock, else the earliest holder's */
  fencing_token: number | null;
  /** the lock's own counter: the last token handed out, whoever holds it now */
  fencing_counter: number;
  stale: boolean;
  windows: WindowJson[];
  blackouts: BlackoutJson[];
  /** no new holder before this time (shown as set, also once it has passed); null: not paused */
  paused_until: string | null;
  pause_reason: string | null;
  /**
   * refused now by a pause, blackout or window: when a new holder may come in; otherwise the
   * next window opening (null without windows, or when nothing opens within 400 days)
   */
  next_window_at: string | null;
  holders: HolderJson[];
  /** health gates checked before a new holder is admitted (definitions; credentials by name) */
  gates?: GateJson[];
  /** the gates' last known results */
  gate_status?: { name: string; ok: boolean; detail: string; checked_at: string }[];
  /** nested locks: the parent lock's name (null: none) and the children's names */
  parent?: string | null;
  children?: string[];
};
