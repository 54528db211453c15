// `npm run fuzz [-- --requests 20000 --seed 42 --store both --https-share 0.1]`: the fuzzer
// against an in-process server on a fresh SQLite file and on a throwaway PostgreSQL; the
// summary on stdout, exit code 1 on any failure. Env instead of flags: FUZZ_REQUESTS,
// FUZZ_SEED, FUZZ_STORE. A failure prints the seed and the request's index to replay it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startPgCluster } from '../support/postgres.js';
import { formatFuzzSummary, runFuzz } from './fuzzer.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: process.env.FUZZ_REQUESTS ?? '10000' },
    seed: { type: 'string', default: process.env.FUZZ_SEED ?? String(Date.now() % 1_000_000) },
    store: { type: 'string', default: process.env.FUZZ_STORE ?? 'both' },
    'https-share': { type: 'string', default: '0.1' },
  },
});
const stores = values.store === 'both' ? ['sqlite', 'postgres'] : [values.store!];
const seed = Number(values.seed);
console.error(`[fuzz] seed ${seed}`);
let failures = 0;
for (const store of stores) {
  if (store !== 'sqlite' && store !== 'postgres') {
    console.error(`--store must be sqlite, postgres or both, not ${store}`);
    process.exit(2);
  }
  const dataDir = mkdtempSync(join(tmpdir(), `keyholder-fuzz-${store}-`));
  const cluster = store === 'postgres' ? await startPgCluster() : undefined;
  try {
    cluster?.psql('CREATE DATABASE keyholder');
    const summary = await runFuzz({
      store,
      databaseUrl: cluster?.url('keyholder'),
      dataDir,
      seed,
      requests: Number(values.requests),
      httpsShare: Number(values['https-share']),
      log: (line) => console.error(`[fuzz] ${line}`),
    });
    console.log(formatFuzzSummary(summary));
    failures += summary.failures.length;
  } finally {
    cluster?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
console.log(`fuzz: ${failures} failure(s) in total; replay with --seed ${seed}`);
process.exit(failures ? 1 : 0);
