// The lock JSON of GET/PUT/DELETE /api/dlmlocks/:id/lock as keyholder sends it: foreman_dlm's
// keys plus keyholder's extensions. A Foreman server sends only the base keys, so clients parse
// the extensions as optional.

export interface HolderJson {
  name: string;
  acquired_at: string;
  fencing_token: number;
  /** null without a lease */
  expires_at: string | null;
}

/** a maintenance window: on these days, from start (HH:MM) for duration_minutes, in time_zone */
export interface WindowJson {
  days: string[];
  start: string;
  duration_minutes: number;
  time_zone: string;
}

export interface LockJson {
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
  stale: boolean;
  windows: WindowJson[];
  holders: HolderJson[];
}
