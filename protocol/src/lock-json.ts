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
  max_holders: number;
  lease_seconds: number | null;
  /** the asking host's own token when it holds the lock, else the earliest holder's */
  fencing_token: number | null;
  /** the lock's own counter: the last token handed out, whoever holds it now */
  fencing_counter: number;
  stale: boolean;
  windows: WindowJson[];
  /** when the next maintenance window opens; null without windows or none within reach */
  next_window_at: string | null;
  holders: HolderJson[];
  /** nested locks: the parent lock's name (null: none) and the children's names */
  parent?: string | null;
  children?: string[];
};
