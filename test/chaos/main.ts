// `npm run chaos [-- --duration 180 --store both --seed 42 --hosts 24]`: the chaos harness
// against the built server (dist/), its summary on stdout, exit code 1 on any violation.
// Env instead of flags: CHAOS_DURATION (seconds, split between the stores), CHAOS_STORE,
// CHAOS_SEED, CHAOS_HOSTS.
import { parseArgs } from 'node:util';
import { formatSummary, runChaos, type ChaosStore } from './harness.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: process.env.CHAOS_DURATION ?? '180' },
    store: { type: 'string', default: process.env.CHAOS_STORE ?? 'both' },
    seed: { type: 'string', default: process.env.CHAOS_SEED ?? String(Date.now() % 1_000_000) },
    hosts: { type: 'string', default: process.env.CHAOS_HOSTS ?? '24' },
    'recovery-limit': { type: 'string', default: '20' },
  },
});

const stores: ChaosStore[] = values.store === 'both' ? ['sqlite', 'postgres'] : [values.store as ChaosStore];
if (!stores.every((s) => s === 'sqlite' || s === 'postgres')) {
  console.error(`--store must be sqlite, postgres or both, not ${values.store}`);
  process.exit(2);
}
const seed = Number(values.seed);
const durationMs = (Number(values.duration) * 1000) / stores.length;
const summaries: Array<{ store: string; printed: number; violations: unknown[] }> = [];
for (const store of stores) {
  const summary = await runChaos({
    store,
    durationMs,
    seed,
    hosts: Number(values.hosts),
    recoveryLimitMs: Number(values['recovery-limit']) * 1000,
    log: (line) => console.error(`[chaos] ${line}`),
  });
  console.log(formatSummary(summary));
  summaries.push({ store, printed: summary.violations.length, violations: summary.violations });
}
// a violation recorded after its run's summary was printed (a late exit, say) still counts
for (const s of summaries) {
  for (const late of s.violations.slice(s.printed))
    console.log(`late violation (${s.store}): ${JSON.stringify(late)}`);
}
const violations = summaries.reduce((n, s) => n + s.violations.length, 0);
console.log(
  `chaos: ${violations} violation(s) in total (${summaries.map((s) => `${s.store} ${s.violations.length}`).join(', ')}); replay the choices with --seed ${seed}`,
);
process.exit(violations ? 1 : 0);
