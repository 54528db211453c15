// The short chaos run inside `npm test`: the same harness as `npm run chaos`, with a small
// budget per store (every kind of fault at least once), and zero violations expected.
import { describe, expect, it } from 'vitest';
import { formatSummary, runChaos, type ChaosStore } from './harness.js';

// Each kind of fault happens at least once whatever the budget; the budget is the load's floor.
const BUDGET_MS: Record<ChaosStore, number> = { sqlite: 4_000, postgres: 6_000 };

describe.each(['sqlite', 'postgres'] as ChaosStore[])('chaos run on %s', (store) => {
  it('keeps every acknowledged acquire, never exceeds max_holders, never answers 500, always recovers', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
    const summary = await runChaos({
      store,
      durationMs: BUDGET_MS[store],
      seed,
      hosts: 12,
      faultGapMs: [200, 800],
      recoveryLimitMs: 15_000,
      ghostLimitMs: 10_000,
      shutdownLimitMs: 12_000,
      // a killed instance's waiters expire with its heartbeat: short here, so the run is too
      serverEnv: {
        KEYHOLDER_LOCKS_INSTANCE_HEARTBEAT_SECONDS: '1',
        KEYHOLDER_LOCKS_INSTANCE_TIMEOUT_SECONDS: '3',
      },
    });
    const report = formatSummary(summary);
    expect(summary.violations, report).toEqual([]);
    expect(Object.keys(summary.faults).length, report).toBeGreaterThanOrEqual(store === 'sqlite' ? 4 : 7);
    expect(summary.acknowledgedAcquires, report).toBeGreaterThan(0);
    expect(summary.acknowledgedChecked, report).toBe(summary.acknowledgedAcquires);
  }, 240_000);
});
