// The lock table's state in /metrics, read from the database at scrape time — so every
// instance reports the same, shared numbers. Per-lock series name only locks that are held,
// stale ones first and then the longest held, at most `metrics.maxLockLabels` of them: lock
// names are unbounded, and a Prometheus series per lock ever seen would grow without end.
// The totals (keyholder_locks_held, keyholder_locks_stale) always count every lock, and
// keyholder_lock_series_omitted says how many held locks the cap left out.
import { Gauge, type Registry } from 'prom-client';
import type { LockStats, Store } from '../store/store.js';

export interface LockMetricsOptions {
  store: Store;
  staleAfterMs: number;
  maxLockLabels: number;
}

type Counted = Exclude<keyof LockStats, 'held' | 'now'>;

const GAUGES: [Counted, string, string][] = [
  ['locks', 'keyholder_locks', 'Locks that exist'],
  ['locksHeld', 'keyholder_locks_held', 'Locks with at least one holder'],
  ['holders', 'keyholder_lock_holders', 'Holders over all locks (semaphores count each)'],
  ['locksStale', 'keyholder_locks_stale', 'Held locks not refreshed within locks.staleAfterSeconds'],
  ['waiters', 'keyholder_lock_waiters', 'Blocking acquires waiting in a queue, over all instances'],
  ['hosts', 'keyholder_hosts', 'Registered hosts'],
  ['events', 'keyholder_lock_events', 'Lock events kept (see events.retentionDays)'],
  ['webhooksFailing', 'keyholder_webhooks_failing', 'Webhook targets retrying a failed delivery'],
  [
    'instancesAlive',
    'keyholder_instances_alive',
    'Server instances whose heartbeat is current (all instances)',
  ],
];

export function installLockMetrics(registry: Registry, opts: LockMetricsOptions): void {
  // One read per scrape fills every gauge below. While the database is unavailable the gauges
  // keep their last values and /metrics still answers: keyholder_database_up and
  // keyholder_database_errors_total tell the outage, and a scrape that failed would hide them.
  let pending: Promise<LockStats | undefined> | undefined;
  const stats = () =>
    (pending ??= opts.store
      .lockStats(opts.staleAfterMs, opts.maxLockLabels)
      .catch(() => undefined)
      .finally(() => (pending = undefined)));

  for (const [key, name, help] of GAUGES) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const now = await stats();
        if (now) this.set(now[key]);
      },
    });
  }

  new Gauge({
    name: 'keyholder_lock_held_seconds',
    help: 'Seconds since the earliest current holder took the lock (held locks, up to metrics.maxLockLabels)',
    labelNames: ['lock'] as const,
    registers: [registry],
    async collect() {
      const read = await stats();
      if (!read) return;
      // a lock freed since the last scrape must not linger with its old value
      this.reset();
      for (const lock of read.held) {
        this.set({ lock: lock.name }, Math.max(0, (read.now - lock.heldSince) / 1000));
      }
    },
  });
  new Gauge({
    name: 'keyholder_lock_stale',
    help: '1 when a holder of the lock has not refreshed within locks.staleAfterSeconds, else 0 (held locks, up to metrics.maxLockLabels)',
    labelNames: ['lock'] as const,
    registers: [registry],
    async collect() {
      const read = await stats();
      if (!read) return;
      this.reset();
      for (const lock of read.held) this.set({ lock: lock.name }, lock.stale ? 1 : 0);
    },
  });
  new Gauge({
    name: 'keyholder_lock_series_omitted',
    help: 'Held locks left out of the per-lock series by metrics.maxLockLabels',
    registers: [registry],
    async collect() {
      const read = await stats();
      if (read) this.set(Math.max(0, read.locksHeld - read.held.length));
    },
  });
}
