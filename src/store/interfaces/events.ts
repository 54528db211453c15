// The lock event log's interfaces: the API's list and retention, the webhook feed, and the web
// UI's overview (counts and activity read from the same tables). Implemented in
// src/store/events.ts, webhook-feed.ts and overview.ts.
import type { EventType } from '../../lock/types.js';

/** Narrows a lock's events (GET …/dlmlock_events?type=&host=); absent parts match all. */
export interface EventFilter {
  /** any of these event types */
  types?: readonly EventType[];
  /** the host named in the event, exactly */
  host?: string;
}

export interface EventRow {
  id: number;
  lockId: number | null;
  lockName: string;
  type: string;
  hostName: string | null;
  userLogin: string | null;
  detail: string | null;
  createdAt: number;
}

/** A lock's event log as the API lists it, and its retention. */
export interface EventLog {
  /** newest first; `total` counts all the lock's events, `subtotal` those the filter lets through */
  list(
    lockId: number,
    limit: number,
    offset: number,
    filter?: EventFilter,
  ): Promise<{ total: number; subtotal: number; events: EventRow[] }>;
  /** deletes lock events older than `days` by the database clock; returns how many */
  expire(days: number): Promise<number>;
}

/** The event stream as webhooks read it, each target from its own cursor; and the stale scan. */
export interface EventFeed {
  /** A new target starts at the current end of the stream: it is not sent the past. */
  cursor(target: string): Promise<WebhookCursor>;
  /** The target's cursor as stored, without writing; undefined if it was never started. */
  load(target: string): Promise<WebhookCursor | undefined>;
  save(target: string, cursor: WebhookCursor, lastError: string | null): Promise<void>;
  /** Events after `afterId` that are at least `settleMs` old (src/store/webhook-feed.ts says why). */
  eventsAfter(afterId: number, settleMs: number, limit: number): Promise<{ events: EventRow[]; now: number }>;
  /** The newest `limit` events at least `settleMs` old, oldest first: where a reader of the stream starts. */
  latestEvents(settleMs: number, limit: number): Promise<EventRow[]>;
  /** Records `stale` for holders past stale_after that were not reported since their last refresh. */
  reportStale(staleAfterMs: number, limit?: number): Promise<number>;
}

export interface WebhookCursor {
  lastEventId: number;
  attempts: number;
  nextAttemptAt: number | null;
}

/** The web UI's overview: counts, hourly activity, a host's history (src/store/overview.ts). */
export interface OverviewStore {
  counts(staleAfterMs: number, checkinWithinMs: number): Promise<OverviewCounts & { now: number }>;
  /** Every hour of the last `hours` (oldest first, the current one last), empty hours as 0. */
  activity(hours: number): Promise<HourlyActivity[]>;
  /** A host's history across locks, newest first, at most `limit` events. */
  hostEvents(hostName: string, limit: number): Promise<{ total: number; events: EventRow[] }>;
}

export interface OverviewCounts {
  locks: number;
  held: number;
  stale: number;
  /** locks with at least one live blocking acquire queued */
  waiting: number;
  disabled: number;
  /** locks whose calendar refuses new holders now (src/store/window-state.ts) */
  outsideWindow: number;
  /** locks with a health gate whose last check failed (search: gate = failing) */
  gateFailing: number;
  hosts: number;
  hostsCheckedIn: number;
}

export interface HourlyActivity {
  /** the hour's start, ms since the epoch (UTC) */
  hour: number;
  acquisitions: number;
  refusals: number;
}
