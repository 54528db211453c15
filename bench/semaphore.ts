// Large semaphores (`npm run bench:semaphore`): what one host's acquire + release costs on a lock
// that already has N holders — a `10%` lock of a 20,000-host fleet has 2,000. A lock's holders
// live in its row (migration 14), so every change rewrites them all; this says how that grows.
// Direct store calls (no HTTP: the answer's JSON is the same on both stores), one client, on a
// SQLite file and on the bench's throwaway PostgreSQL cluster (durable: fsync and synchronous
// commit on). Each row's ratio is against the 1-holder row of the same store in the same run.
//
//   npm run bench:semaphore                      # 1, 100, 1000 and 2000 holders
//   BENCH_SEMAPHORE_HOLDERS=1,5000 BENCH_SEMAPHORE_PAIRS=50 npm run bench:semaphore
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/load.js';
import { EXPORT_FORMAT, EXPORT_VERSION, type ExportDocument } from '../src/store/backup.js';
import { openStore } from '../src/store/open.js';
import { startPgCluster, type PgCluster } from '../test/support/postgres.js';
import { postmasterPid, treeTicks } from './proc.js';
import { fmt } from './report.js';

const HOLDERS = (process.env.BENCH_SEMAPHORE_HOLDERS || '1,100,1000,2000').split(',').map(Number);
const PAIRS = Number(process.env.BENCH_SEMAPHORE_PAIRS || 100);
const WARMUP_PAIRS = 10;
/** jiffies per second on Linux (USER_HZ) */
const HZ = 100;
const LOCK = 'big-semaphore';

interface Row {
  store: string;
  holders: number;
  msPerPair: number;
  /** keyholder's (this process's) CPU per pair */
  cpuMs: number;
  /** PostgreSQL's CPU per pair (all its processes) */
  pgCpuMs?: number;
}

/** N hosts holding the lock (tokens 1…N), and one more host, `joiner`, that comes and goes. */
function document(holders: number): ExportDocument {
  const at = Date.now() - 3_600_000;
  const host = (i: number) => ({
    id: i + 1,
    name: i === 0 ? 'joiner' : `holder-${i}`,
    can_acquire_locks: true,
    created_at: at,
    last_checkin_at: at,
  });
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exported_at: new Date().toISOString(),
    tables: {
      hosts: Array.from({ length: holders + 1 }, (_, i) => host(i)),
      locks: [
        {
          id: 1,
          name: LOCK,
          type: 'ForemanDlm::Dlmlock::Update',
          enabled: true,
          max_holders: holders + 1,
          lease_seconds: null,
          windows: null,
          fencing_counter: holders,
          created_at: at,
          updated_at: at,
        },
      ],
      lock_holders: Array.from({ length: holders }, (_, i) => ({
        lock_id: 1,
        host_id: i + 2,
        acquired_at: at,
        refreshed_at: at,
        fencing_token: i + 1,
        expires_at: null,
      })),
    },
  };
}

async function measure(
  store: string,
  holders: number,
  url: string | undefined,
  postmaster?: number,
): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyholder-semaphore-'));
  const keyholder = openStore(
    loadConfig({ env: {}, flags: { dataDir, database: { url }, log: { level: 'silent' } } }),
  );
  try {
    await keyholder.migrate();
    await keyholder.importData(document(holders));
    const host = { name: 'joiner', autoRegister: false };
    const pair = async () => {
      const granted = await keyholder.hostRule({ rule: 'acquire', ref: LOCK, host });
      if (!granted.ok || granted.lock.holders.length !== holders + 1)
        throw new Error('the joiner was not granted');
      const released = await keyholder.hostRule({ rule: 'release', ref: LOCK, host });
      if (!released.ok || released.lock.holders.length !== holders)
        throw new Error('the joiner was not released');
    };
    for (let i = 0; i < WARMUP_PAIRS; i++) await pair();
    const ticks0 = postmaster === undefined ? undefined : treeTicks([postmaster]);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < PAIRS; i++) await pair();
    const elapsed = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const ticks1 = postmaster === undefined ? undefined : treeTicks([postmaster]);
    return {
      store,
      holders,
      msPerPair: elapsed / PAIRS,
      cpuMs: (cpu.user + cpu.system) / 1000 / PAIRS,
      ...(ticks0 !== undefined &&
        ticks1 !== undefined && { pgCpuMs: ((ticks1 - ticks0) * 1000) / HZ / PAIRS }),
    };
  } finally {
    await keyholder.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function print(rows: Row[]): void {
  console.log(`\nOne host's acquire + release next to N holders, ${PAIRS} pairs each (direct store calls)\n`);
  console.log(
    '| store | holders | ms per pair | × 1 holder | keyholder CPU per pair | PostgreSQL CPU per pair |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const base = rows.find((b) => b.store === r.store && b.holders === Math.min(...HOLDERS));
    const ratio = base ? `${(r.msPerPair / base.msPerPair).toFixed(1)}×` : '';
    const pgCpu = r.pgCpuMs === undefined ? '–' : `${fmt(r.pgCpuMs)} ms`;
    console.log(
      `| ${r.store} | ${r.holders} | ${fmt(r.msPerPair)} | ${ratio} | ${fmt(r.cpuMs)} ms | ${pgCpu} |`,
    );
  }
}

const rows: Row[] = [];
for (const n of HOLDERS) rows.push(await measure('sqlite', n, undefined));
let cluster: PgCluster | undefined;
try {
  cluster = await startPgCluster({ durable: true });
  for (const [i, n] of HOLDERS.entries()) {
    cluster.psql(`CREATE DATABASE semaphore_${i}`);
    const url = cluster.url(`semaphore_${i}`);
    rows.push(await measure('postgres', n, url, await postmasterPid(url)));
  }
} finally {
  cluster?.stop();
}
print(rows);
