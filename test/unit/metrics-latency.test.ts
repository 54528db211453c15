// The request latency histogram is counted without prom-client (src/http/metrics-latency.ts):
// a scrape must read exactly as prom-client's own Histogram would have rendered it.
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/http/metrics-latency.js';

const NAME = 'keyholder_http_request_duration_seconds';
const HELP = 'Time to answer, by route pattern (blocking acquires include their wait)';
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300];

describe('latency histogram', () => {
  it('renders what prom-client renders for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new LatencyHistogram(NAME, HELP, BUCKETS, ours);
    const reference = new Histogram({
      name: NAME,
      help: HELP,
      labelNames: ['method', 'route'] as const,
      buckets: BUCKETS,
      registers: [theirs],
    });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const routes = [
      ['PUT', '/api/dlmlocks/:id/lock'],
      ['DELETE', '/api/dlmlocks/:id/lock'],
      ['GET', '(unmatched)'],
      ['GET', '/api/dlmlocks/:id/lock'],
    ] as const;
    // every bucket edge, values between and beyond them, zero, and a long random run
    const edges = BUCKETS.flatMap((b) => [b, b * 0.999, b * 1.001]);
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 400;
    const values = [0, ...edges, 1000, ...Array.from({ length: 2000 }, random)];
    values.forEach((seconds, i) => {
      const [method, route] = routes[i % routes.length]!;
      const key = `${method} ${route}`;
      fast.observe(fast.seriesOf(key) ?? fast.addSeries(key, { method, route }), seconds);
      reference.observe({ method, route }, seconds);
    });
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain(`${NAME}_bucket{le="0.001",method="PUT",route="/api/dlmlocks/:id/lock"}`);
  });

  it('renders a one-label histogram (database calls by operation) as prom-client does', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const name = 'keyholder_database_duration_seconds';
    const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
    const fast = new LatencyHistogram(name, 'Database calls', buckets, ours);
    const reference = new Histogram({
      name,
      help: 'Database calls',
      labelNames: ['operation'] as const,
      buckets,
      registers: [theirs],
    });
    const calls: [string, number][] = [
      ['write', 0.0004],
      ['read', 0.0005],
      ['write', 0.003],
      ['probe', 7],
      ['read', 0.2],
    ];
    for (const [operation, seconds] of calls) {
      fast.observe(fast.seriesOf(operation) ?? fast.addSeries(operation, { operation }), seconds);
      reference.observe({ operation }, seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
