// Health gate checks in /metrics: how many upstream checks ran (a cache hit is not a check) and
// how long they took. Lock and gate names are label values, so at most `metrics.maxLockLabels`
// (lock, gate) pairs are named; checks of any further pair count under lock="_other".
import { Counter, Histogram, type Registry } from 'prom-client';
import type { GateRunner } from '../gates/runner.js';

const OTHER = '_other';

export function installGateMetrics(registry: Registry, gates: GateRunner, maxLabels: number): void {
  const checks = new Counter({
    name: 'keyholder_gate_checks_total',
    help: 'Health gate checks that asked their upstream, by lock, gate and outcome (pass, fail); pairs beyond metrics.maxLockLabels count as lock="_other"',
    labelNames: ['lock', 'gate', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'keyholder_gate_check_duration_seconds',
    help: 'Time a health gate check took, by gate type (timeouts included)',
    labelNames: ['type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const named = new Set<string>();
  gates.reportTo(({ lock, gate, type, ok, seconds }) => {
    const pair = `${lock}\u0000${gate}`;
    if (!named.has(pair) && named.size < maxLabels) named.add(pair);
    const labels = named.has(pair) ? { lock, gate } : { lock: OTHER, gate: OTHER };
    checks.inc({ ...labels, outcome: ok ? 'pass' : 'fail' });
    duration.observe({ type }, seconds);
  });
}
