// The Grafana dashboard (contrib/grafana/keyholder.json) and the alert rules
// (contrib/prometheus/keyholder-rules.yaml) query only metrics that a real server exposes,
// on both stores: a renamed metric would leave an empty panel or an alert that never fires.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createCrl } from '../../src/pki/x509.js';
import { testPki } from '../support/pki.js';
import { exposedNames, promqlMetricNames } from '../support/promql-names.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

const ROOT = new URL('../../', import.meta.url).pathname;
/** Series Prometheus makes itself for every target, not the server. */
const PROMETHEUS_MADE = new Set(['up']);

interface Panel {
  title: string;
  type: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

function dashboardQueries(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'contrib/grafana/keyholder.json'), 'utf8')) as {
    panels: Panel[];
    templating: { list: { name: string; query?: unknown }[] };
  };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const queries = panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr ?? '' })),
  );
  for (const v of dashboard.templating.list) {
    const q = v.query as { query?: string } | undefined;
    if (typeof q?.query === 'string') queries.push({ where: `variable ${v.name}`, expr: q.query });
  }
  return queries;
}

function ruleQueries(): { where: string; expr: string }[] {
  const rules = parse(readFileSync(join(ROOT, 'contrib/prometheus/keyholder-rules.yaml'), 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
}

describe('reading metric names out of PromQL', () => {
  it('keeps metric names, drops functions, labels, ranges, keywords and Grafana variables', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{job=~"$job", route!~"/x|y"}[$__rate_interval]))) ' +
          '> on (job) group_left b and max without (instance) (c_total offset 5m) - time() < 14 * 86400',
      ).sort(),
    ).toEqual(['a_bucket', 'b', 'c_total']);
    expect(promqlMetricNames('label_values(keyholder_build_info, job)')).toEqual([
      'keyholder_build_info',
      'job',
    ]);
  });
});

describe.each(STORES)('dashboard and alert queries against a server on %s', (kind) => {
  let s: TestServer;
  let exposed: Set<string>;
  beforeAll(async () => {
    const pki = await testPki();
    // with a CRL, so its metric is there too
    const crl = join(pki.dir, `crl-queries-${kind}.pem`);
    writeFileSync(crl, await createCrl(pki.ca, []));
    s = await startTestServer(kind, {
      tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath, crl },
    });
    await s.asHost('q1', 'PUT', '/api/dlmlocks/queried/lock');
    exposed = exposedNames((await s.request('GET', '/metrics')).text);
  });
  afterAll(() => s?.close());

  it('the dashboard queries only exposed metrics', () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThanOrEqual(15);
    const missing = queries.flatMap(({ where, expr }) =>
      promqlMetricNames(expr)
        // label_values(metric, label): the second argument is a label
        .filter((n) => !(expr.startsWith('label_values(') && n !== promqlMetricNames(expr)[0]))
        .filter((n) => !exposed.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(missing).toEqual([]);
  });

  it('the alert rules query only exposed metrics (and Prometheus’ own `up`)', () => {
    const missing = ruleQueries().flatMap(({ where, expr }) =>
      promqlMetricNames(expr)
        .filter((n) => !exposed.has(n) && !PROMETHEUS_MADE.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(missing).toEqual([]);
  });
});
