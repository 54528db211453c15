// Prometheus metrics at /metrics: request counts and latencies per route (the route's pattern,
// never the raw URL, so lock names do not become label values), the lock table's state read
// from the database at scrape time — so every instance reports the same, shared numbers — and
// Node's process metrics. Aggregates only, nothing about who holds what: public like /healthz.
// keyholder_build_info names the instance that answered: behind a load balancer, consecutive
// scrapes reach different processes, and without it their counters read as resets.
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LockStats, Store } from '../store/store.js';
import { VERSION } from '../version.js';

export interface MetricsOptions {
  store: Store;
  staleAfterMs: number;
  /** `instanceId` from the configuration; default this machine's name and the listening port */
  instanceId?: string;
}

const GAUGES: [keyof LockStats, string, string][] = [
  ['locks', 'keyholder_locks', 'Locks that exist'],
  ['locksHeld', 'keyholder_locks_held', 'Locks with at least one holder'],
  ['holders', 'keyholder_lock_holders', 'Holders over all locks (semaphores count each)'],
  ['locksStale', 'keyholder_locks_stale', 'Held locks not refreshed within locks.staleAfterSeconds'],
  ['waiters', 'keyholder_lock_waiters', 'Blocking acquires waiting in a queue, over all instances'],
  ['hosts', 'keyholder_hosts', 'Registered hosts'],
  ['events', 'keyholder_lock_events', 'Lock events kept (see events.retentionDays)'],
  ['webhooksFailing', 'keyholder_webhooks_failing', 'Webhook targets retrying a failed delivery'],
];

export function installMetrics(app: FastifyInstance, opts: MetricsOptions): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'keyholder_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'keyholder_http_request_duration_seconds',
    help: 'Time to answer, by route pattern (blocking acquires include their wait)',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300],
    registers: [registry],
  });

  // the port is known once listening (port 0 picks one), so the default id is made at scrape time
  const instance = () => {
    const address = app.server.address() as AddressInfo | null;
    return opts.instanceId ?? `${hostname()}:${address?.port ?? 0}`;
  };
  new Gauge({
    name: 'keyholder_build_info',
    help: 'Always 1: the version and the instance that answered this scrape',
    labelNames: ['version', 'instance'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.set({ version: VERSION, instance: instance() }, 1);
    },
  });

  // One read per scrape fills all the lock gauges.
  let pending: Promise<LockStats> | undefined;
  const stats = () =>
    (pending ??= opts.store.lockStats(opts.staleAfterMs).finally(() => (pending = undefined)));
  for (const [key, name, help] of GAUGES) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set((await stats())[key]);
      },
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? '(unmatched)';
    const method = request.method;
    requests.inc({ method, route, status: String(reply.statusCode) });
    latency.observe({ method, route }, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { config: { access: { kind: 'public' } } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
