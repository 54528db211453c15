// Prometheus metrics at /metrics: request counts and latencies per route (the route's pattern,
// never the raw URL, so lock names do not become label values), the lock table's state
// (src/http/metrics-locks.ts), grants and refusals (src/http/metrics-outcomes.ts), database
// call latencies and outages, webhook failures, when the TLS material runs out, and Node's
// process metrics. Public like /healthz: lock names of held locks, no holders, no secrets.
// keyholder_build_info names the instance that answered: behind a load balancer, consecutive
// scrapes reach different processes, and without it their counters read as resets.
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { TlsExpiryWatch } from '../pki/expiry.js';
import type { Store } from '../store/store.js';
import { VERSION } from '../version.js';
import type { GateRunner } from '../gates/runner.js';
import { installGateMetrics } from './metrics-gates.js';
import { LatencyHistogram } from './metrics-latency.js';
import { installLockMetrics } from './metrics-locks.js';
import { lockOutcomeCounters } from './metrics-outcomes.js';

export interface MetricsOptions {
  store: Store;
  staleAfterMs: number;
  /** `metrics.maxLockLabels`: how many held locks the per-lock series name */
  maxLockLabels: number;
  /** `instanceId` from the configuration; default this machine's name and the listening port */
  instanceId?: string;
  /** the TLS material in use (absent when the app is built without TLS, as in some tests) */
  tls?: TlsExpiryWatch;
  /** health gate checks (src/gates/runner.ts) */
  gates?: GateRunner;
}

/** What other parts of the server report into /metrics. */
export interface AppMetrics {
  /** a webhook POST failed; `givenUp`: it was the event's last attempt (the event is skipped) */
  webhookFailed(givenUp: boolean): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: AppMetrics;
  }
}

export function installMetrics(app: FastifyInstance, opts: MetricsOptions): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Counted here, handed to prom-client when scraped: its inc() validates and hashes the labels
  // on every call, which a request should not pay for. Same series, same order, same values.
  const answered = new Map<
    string,
    { labels: { method: string; route: string; status: string }; count: number }
  >();
  new Counter({
    name: 'keyholder_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, count } of answered.values()) this.inc(labels, count);
    },
  });
  const latency = new LatencyHistogram(
    'keyholder_http_request_duration_seconds',
    'Time to answer, by route pattern (blocking acquires include their wait)',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300],
    registry,
  );

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

  installLockMetrics(registry, opts);
  if (opts.gates) installGateMetrics(registry, opts.gates, opts.maxLockLabels);
  installDatabaseMetrics(registry, opts.store);
  if (opts.tls) installTlsMetrics(registry, opts.tls);
  app.decorate('metrics', webhookMetrics(registry));

  app.decorateRequest('lockAcquire', null);
  const countAcquire = lockOutcomeCounters(registry);
  // a callback hook: no promise per response
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? '(unmatched)';
    const method = request.method;
    const status = reply.statusCode;
    const answer = `${method} ${route} ${status}`;
    const counted = answered.get(answer);
    if (counted) counted.count++;
    else answered.set(answer, { labels: { method, route, status: String(status) }, count: 1 });
    const perRoute = `${method} ${route}`;
    const series = latency.seriesOf(perRoute) ?? latency.addSeries(perRoute, { method, route });
    latency.observe(series, reply.elapsedTime / 1000);
    countAcquire(request);
    done();
  });

  app.get('/metrics', { config: { access: { kind: 'public' } } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}

function installDatabaseMetrics(registry: Registry, store: Store): void {
  // a few database calls per request: counted like the request latency (src/http/metrics-latency.ts)
  const duration = new LatencyHistogram(
    'keyholder_database_duration_seconds',
    'Database calls (a transaction, a read, a readiness probe) by operation, as this instance timed them',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registry,
  );
  const errors = new Counter({
    name: 'keyholder_database_errors_total',
    help: 'Database calls that failed because the database was unavailable (answered 503), by operation',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  for (const operation of ['read', 'write'] as const) errors.inc({ operation }, 0);
  store.timings.onCall(({ kind, seconds, outcome }) => {
    duration.observe(duration.seriesOf(kind) ?? duration.addSeries(kind, { operation: kind }), seconds);
    if (outcome === 'unavailable') errors.inc({ operation: kind });
  });
  new Gauge({
    name: 'keyholder_database_up',
    help: '0 while this instance sees a database outage (answering 503), else 1',
    registers: [registry],
    collect() {
      this.set(store.health.isDown ? 0 : 1);
    },
  });
}

function installTlsMetrics(registry: Registry, tls: TlsExpiryWatch): void {
  new Gauge({
    name: 'keyholder_tls_certificate_expiry_timestamp_seconds',
    help: 'When the certificate in use runs out (Unix time): the server certificate, and the first of the client CA bundle',
    labelNames: ['certificate'] as const,
    registers: [registry],
    collect() {
      const { serverNotAfter, caNotAfter } = tls.get();
      this.set({ certificate: 'server' }, serverNotAfter / 1000);
      this.set({ certificate: 'ca' }, caNotAfter / 1000);
    },
  });
  // only with a CRL (tls.crl is fixed at start; a reload re-reads the same file)
  if (tls.get().crlNextUpdate === undefined) return;
  new Gauge({
    name: 'keyholder_tls_crl_next_update_timestamp_seconds',
    help: 'The next update of the CRL in use (Unix time); client certificates are refused after it',
    registers: [registry],
    collect() {
      const next = tls.get().crlNextUpdate;
      if (next !== undefined) this.set(next / 1000);
    },
  });
}

function webhookMetrics(registry: Registry): AppMetrics {
  const failures = new Counter({
    name: 'keyholder_webhook_failures_total',
    help: 'Webhook POSTs that failed (no answer, or not 2xx); each retry counts',
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'keyholder_webhook_events_dropped_total',
    help: 'Webhook events skipped after webhooks.maxAttempts failed attempts',
    registers: [registry],
  });
  return {
    webhookFailed(givenUp) {
      failures.inc();
      if (givenUp) dropped.inc();
    },
  };
}
