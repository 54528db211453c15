// Latency histograms (requests by route, database calls by operation), counted without
// prom-client on the request path: its Histogram#observe validates and hashes the label set and
// builds a closure on every call, several microseconds per request. Here a series is looked up
// by a name made once and an observation is a bucket search and three additions. The scrape renders exactly what
// prom-client's Histogram would (same lines, same order, same numbers; test/unit/metrics-latency).
import type { Metric, Registry } from 'prom-client';

interface Series {
  labels: Record<string, string>;
  /** per upper bound, not cumulative; the last slot counts what lies above every bound */
  counts: number[];
  sum: number;
  count: number;
}

export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series named `key`, if observed before. */
  seriesOf(key: string): Series | undefined {
    return this.series.get(key);
  }

  /** A new series named `key`, with these labels (in the order they are rendered). */
  addSeries(key: string, labels: Record<string, string>): Series {
    const series = { labels, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
    this.series.set(key, series);
    return series;
  }

  observe(series: Series, seconds: number): void {
    const bounds = this.buckets;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    series.counts[i]!++;
    series.sum += seconds;
    series.count++;
  }

  /** What prom-client's registry renders: the metric as its Histogram reports it. */
  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
