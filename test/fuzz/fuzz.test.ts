// The short seeded fuzz run inside `npm test`, on both stores: no 5xx, no uncaught error, the
// API's error body everywhere, and no refused request that changed the database. A failure's
// message has the seed and the request's index; replay with FUZZ_SEED=… npm run fuzz.
import { describe, expect, it } from 'vitest';
import { createTestDatabase, STORES } from '../support/stores.js';
import { formatFuzzSummary, runFuzz } from './fuzzer.js';

const REQUESTS = 250;

describe.each(STORES)('fuzzing every route on %s', (store) => {
  it('never answers 5xx, keeps the error body, and refusals change nothing', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261128);
    const db = await createTestDatabase(store);
    try {
      const summary = await runFuzz({
        store,
        databaseUrl: db.url,
        dataDir: db.dataDir,
        seed,
        requests: REQUESTS,
      });
      const report = formatFuzzSummary(summary);
      expect(summary.failures, report).toEqual([]);
      expect(summary.operationsReached, report).toBe(summary.operations);
      expect(summary.viaHttps, report).toBeGreaterThan(0);
      expect(summary.refusedChecked, report).toBeGreaterThan(REQUESTS / 2);
    } finally {
      await db.dispose();
    }
  }, 120_000);
});
